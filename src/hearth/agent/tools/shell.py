"""The ``shell`` tool: one command, in the sandbox, with a time limit and bounded output."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from hearth.agent.tools.observation import Observation, bounded
from hearth.agent.tools.sandbox import SandboxMode, sandboxed


def run(root: Path, command: str, mode: SandboxMode, timeout_s: float) -> Observation:
    """Run ``command`` with bash in ``root``; the model sees the exit code and the output."""
    with tempfile.TemporaryDirectory(prefix="hearth-code-tmp-") as scratch:
        argv = sandboxed(["bash", "-c", command], root, mode, Path(scratch))
        process = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True,
                                   env={**os.environ, "PAGER": "cat", "GIT_PAGER": "cat"})
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the command and all it started
            output, _ = process.communicate()
            text = output.decode(errors="replace")
            return Observation(bounded(f"{text}\n[timed out after {timeout_s:.0f} s and was "
                                       "stopped; run something quicker]"), False)
    text = output.decode(errors="replace").rstrip()
    status = f"exit code {process.returncode}"
    return Observation(bounded(f"{text}\n[{status}]" if text else f"[{status}, no output]"),
                       process.returncode == 0)
