"""Running one shell command for the agent: in the sandbox, with a timeout, its output kept.

Output goes to a temporary file, not a pipe held in memory, so a command that prints gigabytes
costs disk briefly and the model still sees its head and tail. A command that outlives its
timeout is killed with its whole process group (bwrap's `--die-with-parent` then takes the
sandboxed processes with it). As in Codex, environment variables whose names hold KEY, SECRET,
TOKEN or PASSWORD are not passed on: a command the model wrote has no business with the user's
credentials, and its output goes back to the model.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hearth.agent.tools.sandbox import SandboxMode, sandbox_argv

_READ_LIMIT = 1 << 20  # bytes read back from each end of a huge output
_SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD")


@dataclass(frozen=True)
class CommandResult:
    """How a command ended: `exit_code` is None when it was killed at its timeout."""

    exit_code: int | None
    output: str


def run_command(command: str, root: Path, mode: SandboxMode, timeout_s: float) -> CommandResult:
    """Run `command` with bash in `root` under `mode`, stdout and stderr interleaved."""
    with tempfile.TemporaryDirectory(prefix="hearth-sandbox-tmp-") as private_tmp, \
            tempfile.TemporaryFile() as output:
        argv = sandbox_argv(mode, root, Path(private_tmp), command)
        process = subprocess.Popen(argv, cwd=root, env=command_environment(),
                                   stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            exit_code: int | None = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            exit_code = None
        return CommandResult(exit_code, _read_back(output))


def command_environment() -> dict[str, str]:
    """This process's environment without the variables that look like credentials."""
    return {name: value for name, value in os.environ.items()
            if not any(word in name.upper() for word in _SECRET_WORDS)}


def _read_back(output: IO[bytes]) -> str:
    size = output.seek(0, os.SEEK_END)
    output.seek(0)
    if size <= 2 * _READ_LIMIT:
        return output.read().decode(errors="replace")
    head = output.read(_READ_LIMIT)
    output.seek(size - _READ_LIMIT)
    tail = output.read()
    return (head.decode(errors="replace") + f"\n[... {size - 2 * _READ_LIMIT} bytes ...]\n"
            + tail.decode(errors="replace"))
