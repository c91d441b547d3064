"""Shell commands in the bubblewrap sandbox. In workspace-write nothing outside the repository
(and a private /tmp) is written and the network is unreachable; read-only writes nothing;
full-access is unconfined, and serves as the control that shows each probe really writes or
connects when nothing stops it. Run as root here, these tests also show root is confined."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.agent.tools import (Observation, SandboxMode, SandboxUnavailableError, Toolbox,
                                sandbox)


def run(root: Path, mode: SandboxMode, command: str, timeout_s: float = 20.0) -> Observation:
    return Toolbox(root, mode, shell_timeout_s=timeout_s).call(
        "shell", json.dumps({"command": command}))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository under /tmp, so the private /tmp must not hide it."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder outside the repository and outside /tmp, on the host's real filesystem."""
    folder = Path(tempfile.mkdtemp(prefix="hearth-sandbox-test-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def name() -> str:
    return f"hearth-sandbox-probe-{uuid.uuid4().hex}"


def test_workspace_write_may_write_the_repository_and_its_own_tmp(repo: Path, name: str) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE,
                 f"echo hi > made.txt && echo x > /tmp/{name} && cat /tmp/{name} && pwd")
    assert result.ok, result.text
    assert (repo / "made.txt").read_text() == "hi\n"
    assert result.text == f"Exit code 0.\nx\n{repo.resolve()}\n"
    assert not Path("/tmp", name).exists()  # the private /tmp is not the host's


@pytest.mark.parametrize("mode", [SandboxMode.WORKSPACE_WRITE, SandboxMode.READ_ONLY])
def test_home_is_not_writable(repo: Path, name: str, mode: SandboxMode) -> None:
    target = Path.home() / name
    try:
        result = run(repo, mode, f"echo x > ~/{name}")
        assert not result.ok and "Read-only file system" in result.text
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_symlink_pointing_out_is_not_written_through(repo: Path, outside: Path) -> None:
    os.symlink(outside, repo / "link")
    os.symlink(outside / "file.txt", repo / "file-link.txt")
    result = run(repo, SandboxMode.WORKSPACE_WRITE, "echo x > link/new.txt")
    assert not result.ok and "Read-only file system" in result.text
    result = run(repo, SandboxMode.WORKSPACE_WRITE, "echo x > file-link.txt")
    assert not result.ok and "Read-only file system" in result.text
    assert list(outside.iterdir()) == []


def test_dot_dot_paths_are_not_written(outside: Path, name: str) -> None:
    repo = outside / "repo"  # its parent is a real host folder, not the private /tmp
    repo.mkdir()
    result = run(repo, SandboxMode.WORKSPACE_WRITE, f"echo x > ../{name}")
    assert not result.ok and "Read-only file system" in result.text
    assert not (outside / name).exists()


def test_a_repository_under_tmp_sees_a_private_tmp_around_it(repo: Path, name: str) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE, f"echo x > ../{name}")
    assert result.ok, result.text  # written to the private /tmp, thrown away after
    assert not (repo.parent / name).exists()


def test_dot_git_stays_read_only(repo: Path) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE, "echo x > .git/HEAD")
    assert not result.ok and "Read-only file system" in result.text
    assert not (repo / ".git/HEAD").exists()


def test_root_inside_cannot_remount_the_filesystem_writable(repo: Path, outside: Path) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE,
                 f"mount -o remount,rw / ; mount -o remount,rw {outside} ; "
                 f"echo x > {outside}/f; grep CapEff /proc/self/status")
    assert "CapEff:\t0000000000000000" in result.text
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("mode", [SandboxMode.WORKSPACE_WRITE, SandboxMode.READ_ONLY])
def test_network_is_unreachable(repo: Path, mode: SandboxMode) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = run(repo, mode, f"python3 -c \"import socket; "
                                 f"socket.create_connection(('127.0.0.1', {port}), timeout=5)\"")
        assert not result.ok and "ConnectionRefusedError" in result.text
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the host's server


def test_read_only_writes_nothing_in_the_repository(repo: Path) -> None:
    result = run(repo, SandboxMode.READ_ONLY, "echo x > made.txt")
    assert not result.ok and "Read-only file system" in result.text
    assert not (repo / "made.txt").exists()


def test_full_access_writes_anywhere_and_reaches_the_network(repo: Path, outside: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = run(repo, SandboxMode.FULL_ACCESS,
                     f"echo x > {outside}/f && ln -s {outside} link && echo y > link/g && "
                     f"python3 -c \"import socket; "
                     f"socket.create_connection(('127.0.0.1', {port}), timeout=5)\"")
        assert result.ok, result.text
        connection, _ = server.accept()
        connection.close()
    assert (outside / "f").read_text() == "x\n" and (outside / "g").read_text() == "y\n"


def test_a_command_past_its_timeout_is_stopped(repo: Path) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE, "echo started; sleep 30", timeout_s=0.5)
    assert not result.ok
    assert result.text == ("The command was stopped after 0.5 s (the time limit). "
                           "Output so far:\nstarted\n")


def test_a_failing_command_shows_its_exit_code_and_output(repo: Path) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE, "echo out; echo err >&2; exit 3")
    assert not result.ok and result.text == "Exit code 3.\nout\nerr\n"


def test_long_output_is_cut_to_head_and_tail(repo: Path) -> None:
    result = run(repo, SandboxMode.WORKSPACE_WRITE, "seq 1 100000")
    lines = result.text.splitlines()
    assert result.ok and lines[:3] == ["Exit code 0.", "1", "2"]
    assert lines[-1] == "100000"
    assert len(result.text.encode()) <= 10 * 1024 + 200 and len(lines) <= 258
    assert any(line.startswith("[... ") and "bytes cut from the middle" in line
               for line in lines)


def test_without_bubblewrap_the_toolbox_says_what_to_install(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    sandbox._probe.cache_clear()
    try:
        with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
            Toolbox(repo, SandboxMode.WORKSPACE_WRITE)
        # Nothing to confine: no shell tool, or no sandbox asked for.
        Toolbox(repo, SandboxMode.WORKSPACE_WRITE, allow_shell=False)
        Toolbox(repo, SandboxMode.FULL_ACCESS)
    finally:
        sandbox._probe.cache_clear()


@pytest.mark.parametrize("mode", [SandboxMode.WORKSPACE_WRITE, SandboxMode.FULL_ACCESS])
def test_credentials_in_the_environment_are_not_passed_on(
        repo: Path, mode: SandboxMode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_API_KEY", "sk-very-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-very-secret")
    monkeypatch.setenv("HEARTH_PLAIN_SETTING", "visible")
    result = run(repo, mode, 'echo "${HEARTH_API_KEY:-none} ${GITHUB_TOKEN:-none} '
                             '$HEARTH_PLAIN_SETTING"')
    assert result.text == "Exit code 0.\nnone none visible\n"


@pytest.mark.parametrize(("mode", "reached"), [(SandboxMode.WORKSPACE_WRITE, False),
                                               (SandboxMode.READ_ONLY, False),
                                               (SandboxMode.FULL_ACCESS, True)])
def test_host_unix_sockets_in_tmp_are_out_of_reach(
        repo: Path, tmp_path: Path, mode: SandboxMode, reached: bool) -> None:
    path = tmp_path / "host.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        result = run(repo, mode, f"python3 -c \"import socket; "
                                 f"socket.socket(socket.AF_UNIX).connect('{path}')\"")
        assert result.ok is reached, result.text
        if not reached:
            assert "FileNotFoundError" in result.text


def test_read_only_still_reads_a_repository_under_tmp(repo: Path) -> None:
    (repo / "a.txt").write_text("content\n")
    result = run(repo, SandboxMode.READ_ONLY, "cat a.txt; echo x > /tmp/f")
    assert result.text.startswith("Exit code 1.\ncontent\n")
    assert "Read-only file system" in result.text
