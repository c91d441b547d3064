"""``hearth code`` from the outside: ``exec --json`` against a live server, and the interactive
mode through a pseudo-terminal, as a person types into it."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from live_server import FAKE_ENV, LiveServer, default_model_path


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "app.py").write_text("def add(a, b):\n    return a - b\n")
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"]):
        subprocess.run(["git", *command], cwd=path, check=True)
    return path


def hearth(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hearth", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "HEARTH_HOME": str(home)})


def test_exec_json_prints_one_event_per_line_and_saves_the_session(
        serve: Callable[..., LiveServer], tmp_path: Path) -> None:
    """On the fake engine the model always makes the same first call (a write), so the session
    ends after its second step as done, the write standing, with every step reported."""
    server = serve(FAKE_ENV)
    repo = git_repo(tmp_path / "repo")
    done = hearth("code", "exec", "fix add", "--url", server.base_url, "--cd", str(repo),
                  "--json", "--max-steps", "12", "--no-memory", home=tmp_path / "home")
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    types = [e["type"] for e in events]
    assert types[0] == "session.started" and types[1] == "task"
    assert types[-1] == "session.ended" and events[-1]["status"] == "done"
    assert events[-1]["steps"] == 2 and events[-1]["changed_files"] == ["x"]
    assert "tool.call" in types and "tool.result" in types
    listed = hearth("code", "sessions", "--json", home=tmp_path / "home")
    [saved] = json.loads(listed.stdout)
    assert saved["id"] == events[0]["session"] and saved["root"] == str(repo.resolve())


class Terminal:
    """The leader side of a pseudo-terminal, read as a person reads a screen: what arrived after
    the text one waited for is kept for the next wait (a prompt often comes in the same read as
    the line before it)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.pending = fd, ""

    def read_until(self, wanted: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while wanted not in self.pending:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {wanted!r}; saw:\n{self.pending}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.pending += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:  # the other side closed
                    break
        end = self.pending.find(wanted)
        end = len(self.pending) if end < 0 else end + len(wanted)
        seen, self.pending = self.pending[:end], self.pending[end:]
        return seen

    def write(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")


def test_the_interactive_mode_takes_tasks_and_commands_in_a_terminal(
        serve: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = serve(FAKE_ENV)
    repo = git_repo(tmp_path / "repo")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "code", "--url", server.base_url, "--cd", str(repo),
         "--approval", "never", "--max-steps", "8", "--no-memory"],
        stdin=follower, stdout=follower, stderr=follower, close_fds=True,
        env={**os.environ, "HEARTH_HOME": str(tmp_path / "home"), "COLUMNS": "120",
             "TERM": "xterm"})
    os.close(follower)
    terminal = Terminal(leader)
    try:
        terminal.read_until("/quit")
        terminal.read_until("›")
        terminal.write("/diff")
        assert "No changes yet." in terminal.read_until("No changes yet.")
        terminal.write("fix add in app.py")
        shown = terminal.read_until("did not call finish")
        assert "→ add x" in shown  # each call is shown as it is made, with its diff
        terminal.write("/undo")
        assert "Undid the change to x." in terminal.read_until("Undid the change to x.")
        assert not (repo / "x").exists()
        terminal.write("/quit")
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)


@pytest.mark.model
def test_exec_does_a_small_task_with_the_real_default_model(
        serve: Callable[..., LiveServer], tmp_path: Path) -> None:
    """The whole path a user takes: hearth serve with the default model, hearth code exec in a
    git repository, the change on disk, in git's diff, and working."""
    server = serve(args=["--model", str(default_model_path())])
    repo = git_repo(tmp_path / "repo")
    done = hearth("code", "exec", "Create a file hello.py that prints hello world.", "--url",
                  server.base_url, "--cd", str(repo), "--json", "--max-steps", "6",
                  "--no-memory", home=tmp_path / "home", timeout=600)  # 6 real steps; a busy
    events = [json.loads(line) for line in done.stdout.splitlines()]  # machine took over 120 s
    assert events[-1]["type"] == "session.ended" and events[-1]["status"] == "done", events[-1]
    assert done.returncode == 0
    ran = subprocess.run([sys.executable, "hello.py"], cwd=repo, capture_output=True, text=True)
    assert ran.stdout.strip().lower().strip("!.") == "hello world"
    untracked = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                               text=True, check=True).stdout
    assert "?? hello.py" in untracked
