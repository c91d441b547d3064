"""The shell's sandbox: in workspace-write only the repository (and a private /tmp) can be
written, and nothing reaches the network; each test of a confinement fails with the sandbox
off (checked by turning it off)."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.agent.tools import SandboxMode, Toolbox
from hearth.agent.tools.sandbox import bubblewrap_problem


def test_the_sandbox_can_be_built_here() -> None:
    """Needs bubblewrap (apt-get install bubblewrap, as .ci/run does) and user namespaces."""
    assert bubblewrap_problem() is None


def shell(tools: Toolbox, command: str):
    return tools.call("shell", json.dumps({"command": command}))


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder outside /tmp: inside the sandbox /tmp is the command's own, so a write to a
    path under the host's /tmp would land there, unseen, rather than fail."""
    folder = Path(tempfile.mkdtemp(prefix="hearth-sandbox-test-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    return root


def test_the_repository_is_writable_and_the_home_folder_is_not(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    result = shell(Toolbox(repo), "echo inside > made.txt && echo x > ~/escaped.txt")
    assert (repo / "made.txt").read_text() == "inside\n"
    assert not result.ok and "Read-only file system" in result.text
    assert not (home / "escaped.txt").exists()


def test_tmp_is_private_to_the_command(repo: Path) -> None:
    name = f"hearth-sandbox-{repo.parent.name}"
    result = shell(Toolbox(repo), f"echo x > /tmp/{name} && cat /tmp/{name}")
    assert result.ok and result.text.startswith("x")  # its own /tmp works
    assert not (Path("/tmp") / name).exists()  # and is not the host's


def test_a_symlink_out_of_the_repository_cannot_be_written_through(
        repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("keep")
    (repo / "link").symlink_to(target)
    result = shell(Toolbox(repo), "echo changed > link")
    assert not result.ok and target.read_text() == "keep"


def test_parent_paths_cannot_be_written(repo: Path, tmp_path: Path) -> None:
    result = shell(Toolbox(repo), "echo x > ../sibling.txt")
    assert not result.ok and not (tmp_path / "sibling.txt").exists()


def test_no_network_not_even_to_the_hosts_loopback(repo: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[bool] = []
    threading.Thread(target=lambda: accepted.append(bool(server.accept())), daemon=True).start()
    connect = (f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), "
               "timeout=3); print('connected')\"")
    try:
        result = shell(Toolbox(repo), connect)
        assert not result.ok and "connected" not in result.text
        assert shell(Toolbox(repo, SandboxMode.FULL_ACCESS), connect).ok  # it works unconfined
    finally:
        server.close()


def test_read_only_mode_cannot_write_even_the_repository(repo: Path) -> None:
    result = shell(Toolbox(repo, SandboxMode.READ_ONLY), "echo x > file.txt")
    assert not result.ok and not (repo / "file.txt").exists()


def test_full_access_runs_unconfined(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "allowed.txt"
    assert shell(Toolbox(repo, SandboxMode.FULL_ACCESS), f"echo x > {outside}").ok
    assert outside.exists()


def test_a_command_that_runs_too_long_is_stopped(repo: Path) -> None:
    result = shell(Toolbox(repo, shell_timeout_s=1), "sleep 30")
    assert not result.ok and "timed out after 1 s" in result.text
