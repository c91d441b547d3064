"""Where the agent's shell commands may write: the sandbox modes and the bubblewrap command
line that enforces them.

Chosen: bubblewrap (`bwrap`, Debian's `bubblewrap` package), as in Codex on Linux. It builds a
private mount namespace in which the whole filesystem is bound read-only, then, in
`workspace-write`, binds the repository back read-write (its `.git/` stays read-only, as in
Codex) and a fresh host folder as `/tmp`, so a command's scratch files never reach the real
`/tmp`; in `read-only` /tmp is an empty read-only one. The network namespace is a new, empty
one: no interface but a loopback that reaches nothing of the host. Unix sockets are files, and
a read-only mount does not stop a connect() to them, so /run (system and session buses,
docker.sock) and /tmp (X11) are private in both modes; a socket elsewhere on the host stays
reachable, a gap Codex's sandbox shares. `--cap-drop ALL` keeps root confined too: without
CAP_SYS_ADMIN a command run as root cannot remount anything writable.

How it fails in a container: bwrap needs either root or unprivileged user namespaces. A
container started without them (Docker's default seccomp profile blocks `unshare`/`clone` with
new namespaces; `kernel.unprivileged_userns_clone=0`; an AppArmor profile that restricts user
namespaces, as Ubuntu 24.04 does) makes bwrap exit with "No permissions to creating new
namespace" or "setting up uid map: Permission denied". Then `SandboxUnavailableError` says so
before any command runs, naming the fix; nothing is ever run unconfined in its place. Landlock
(which needs no namespaces) was the other candidate; it would need a third-party binding and
cannot take the network away on kernels before 6.7, so it is not used.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from enum import StrEnum
from pathlib import Path

from hearth.errors import HearthError


class SandboxMode(StrEnum):
    """What shell commands may change: nothing, the repository (and a private /tmp), or all."""

    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    FULL_ACCESS = "full-access"


class SandboxUnavailableError(HearthError):
    """bubblewrap cannot confine commands on this machine; the message says what to do."""


# Namespaces and privileges every sandboxed command gives up.
_ISOLATION = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
              "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


def sandbox_argv(mode: SandboxMode, root: Path, tmp: Path | None, command: str) -> list[str]:
    """The argv that runs `command` with bash in `root` under `mode`; `tmp` is the host folder
    bound as /tmp in workspace-write (unused otherwise)."""
    shell = ["bash", "-c", command]
    if mode is SandboxMode.FULL_ACCESS:
        return shell
    real = str(root.resolve())
    # /run is replaced first: its sockets (system and session buses, docker.sock) would still
    # answer a connect() through a read-only mount.
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run"]
    # /tmp is replaced before the repository is bound, so a repository under /tmp stays visible.
    if mode is SandboxMode.WORKSPACE_WRITE:
        if tmp is None:
            raise ValueError("workspace-write needs a private folder to bind as /tmp")
        argv += ["--bind", str(tmp), "/tmp", "--bind", real, real]
        git = root.resolve() / ".git"
        if git.exists():
            argv += ["--ro-bind", str(git), str(git)]
    else:
        argv += ["--tmpfs", "/tmp", "--ro-bind", real, real, "--remount-ro", "/tmp",
                 "--remount-ro", "/run"]
    argv += _ISOLATION + ["--setenv", "TMPDIR", "/tmp", "--chdir", real, "--"]
    return argv + shell


def check_available() -> None:
    """Raise SandboxUnavailableError unless bubblewrap can confine a command here."""
    problem = _probe()
    if problem:
        raise SandboxUnavailableError(problem)


@functools.cache
def _probe() -> str | None:
    """Why bwrap cannot run a sandboxed command on this machine, or None when it can; asked
    once per process, by running `true` in a throwaway workspace-write sandbox."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed, so shell commands cannot be sandboxed: install it "
                "(`apt-get install bubblewrap`), or choose the full-access sandbox mode to run "
                "commands unconfined.")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "repo").mkdir()
        (folder / "tmp").mkdir()
        argv = sandbox_argv(SandboxMode.WORKSPACE_WRITE, folder / "repo", folder / "tmp", "true")
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as error:
            return f"bubblewrap could not be started ({error})."
    if done.returncode == 0:
        return None
    return (f"bubblewrap cannot create its sandbox here: {done.stderr.strip()}. In a container "
            f"this usually means user namespaces are not allowed: run the container with them "
            f"enabled (e.g. Docker's --security-opt seccomp=unconfined, or sysctl "
            f"kernel.unprivileged_userns_clone=1), or choose the full-access sandbox mode to run "
            f"commands unconfined.")
