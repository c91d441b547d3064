"""The peers of ``hearth bench code``: Aider and mini-swe-agent, each as its users run it.

Each is installed from PyPI into a virtual environment of its own under the benchmark's cache
(``~/.cache/hearth/bench/peers``), pinned to the version below, so neither touches hearth's
own dependencies; the first run installs them (a few minutes), later runs reuse them. Both talk
to the same server as hearth code, through litellm's ``openai/`` provider.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hearth.bench.code import (
    ExerciseResult, TokenMeter, agentic_task, aider_task, retry_task,
)
from hearth.bench.exercism import Exercise, grade, graded_with_retry, prepare
from hearth.errors import HearthError

INSTALL_TIMEOUT_S = 1_800


class PeerUnavailable(HearthError):
    """A peer could not be installed or started: its system is reported as not measured."""


@dataclass(frozen=True)
class Peer:
    name: str
    requirement: str
    command: str


AIDER = Peer("aider", "aider-chat==0.86.2", "aider")
MINI = Peer("mini-swe-agent", "mini-swe-agent==2.4.6", "mini")


def peers_folder() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "hearth" / "bench" / "peers"


def installed(peer: Peer, folder: Path | None = None) -> Path:
    """The peer's command, installing it into its own virtual environment first if needed."""
    venv = (folder or peers_folder()) / peer.name
    marker = venv / "installed.txt"
    if not (marker.is_file() and marker.read_text() == peer.requirement):
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                           capture_output=True, timeout=300)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                            peer.requirement], check=True, capture_output=True, text=True,
                           timeout=INSTALL_TIMEOUT_S)
        except subprocess.CalledProcessError as exc:
            raise PeerUnavailable(f"pip could not install {peer.requirement}: "
                                  f"{(exc.stderr or '')[-500:]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise PeerUnavailable(f"Installing {peer.requirement} took too long.") from exc
        marker.write_text(peer.requirement)
    return venv / "bin" / peer.command


def _env(base_url: str) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_BASE": base_url, "OPENAI_API_KEY": "local",
            "MSWEA_COST_TRACKING": "ignore_errors", "MSWEA_CONFIGURED": "true",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_COLOR": "1"}


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL, check=False)
        return done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s"


def run_aider(command: Path, base_url: str, model: str, exercise: Exercise, workdir: Path,
              meter: TokenMeter, timeout_s: float) -> ExerciseResult:
    """Aider's benchmark protocol: the instructions and the stub, its ``whole`` edit format, one
    retry with the test output in the same chat (restored from its history file)."""
    folder = prepare(exercise, workdir, with_tests=False)
    start, before = time.monotonic(), meter.read()
    argv = [str(command), "--model", f"openai/{model}", "--edit-format", "whole",
            "--yes-always", "--no-git", "--no-auto-commits", "--no-show-model-warnings",
            "--no-check-update", "--no-analytics", "--no-pretty", "--no-stream",
            "--map-tokens", "0", "--no-auto-lint", "--no-auto-test",
            "--chat-history-file", ".aider.chat.history.md", *exercise.solution]
    env = _env(base_url)
    _run([*argv, "--message", aider_task(exercise)], folder, env, timeout_s)
    first, second = graded_with_retry(exercise, folder, lambda failed: _run(
        [*argv, "--restore-chat-history", "--message", retry_task(exercise, failed)],
        folder, env, timeout_s))
    after = meter.read()
    return ExerciseResult(exercise.name, first.passed, second.passed, after[0] - before[0],
                          after[1] - before[1], time.monotonic() - start)


def run_mini(command: Path, base_url: str, model: str, exercise: Exercise, workdir: Path,
             meter: TokenMeter, timeout_s: float, max_steps: int) -> ExerciseResult:
    """mini-swe-agent with its default config, in the folder with the tests, which it may run."""
    folder = prepare(exercise, workdir, with_tests=True)
    start, before = time.monotonic(), meter.read()
    trajectory = folder.parent / f"{exercise.name}.trajectory.json"
    argv = [str(command), "--model", f"openai/{model}", "--task", agentic_task(exercise),
            "--yolo", "--exit-immediately", "--output", str(trajectory),
            "-c", "mini.yaml", "-c", f"model.model_kwargs.api_base={base_url}",
            "-c", "model.model_kwargs.api_key=local", "-c", "model.model_kwargs.temperature=0",
            "-c", f"agent.step_limit={max_steps}", "-c", f"environment.cwd={folder}",
            "-c", "model.cost_tracking=ignore_errors"]
    output = _run(argv, folder, _env(base_url), timeout_s)
    result = grade(exercise, folder)
    after = meter.read()
    calls, malformed, status = read_mini_trajectory(trajectory)
    return ExerciseResult(exercise.name, result.passed, result.passed, after[0] - before[0],
                          after[1] - before[1], time.monotonic() - start, calls, malformed,
                          status, error=None if trajectory.is_file() else output[-300:])


# mini-swe-agent 2.x keeps no malformed reply in its trajectory: it raises a format error and
# adds only its note to the model, from ``format_error_template``, whose two forms open so.
_FORMAT_NOTES = ("Tool call error:", "Your previous response reached the output token limit")


def read_mini_trajectory(trajectory: Path) -> tuple[int, int, str]:
    """Model calls, those mini-swe-agent refused as malformed, and its exit status, read from a
    2.x trajectory (``trajectory_format`` mini-swe-agent-1.1): the calls are its own count
    (``info.model_stats.api_calls``), since refused replies leave no assistant message."""
    try:
        data = json.loads(trajectory.read_text())
    except (OSError, json.JSONDecodeError):
        return 0, 0, ""
    info = data.get("info", {})
    messages = data.get("messages", [])
    calls = info.get("model_stats", {}).get("api_calls")
    if not isinstance(calls, int):
        calls = sum(1 for m in messages if m.get("role") == "assistant")
    malformed = sum(1 for m in messages if m.get("role") in ("user", "tool")
                    and str(m.get("content", "")).startswith(_FORMAT_NOTES))
    return calls, malformed, str(info.get("exit_status", ""))
