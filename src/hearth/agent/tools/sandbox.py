"""Where the agent's shell commands run: a bubblewrap sandbox, as Codex CLI uses on Linux.

- ``read-only``: the whole filesystem read-only, a private ``/tmp``, no network;
- ``workspace-write``: the same, but the repository is writable;
- ``full-access``: no sandbox at all (the user's own shell).

bubblewrap (``apt-get install bubblewrap``) builds the sandbox from namespaces: a user namespace
(so it confines root too: a root inside cannot remount what was bound read-only), a mount
namespace where ``/`` is bound read-only and only the workspace is bound writable, a fresh
network namespace with nothing but a loopback (no route out, not even to the host's
127.0.0.1), and a PID namespace that dies with the agent. Commands see the real paths, so
tools, interpreters and the repository look as they do outside.

In a container, bubblewrap needs unprivileged user namespaces (Docker's default seccomp profile
forbids them, so does ``kernel.unprivileged_userns_clone=0``). Where it cannot start, the
sandboxed modes refuse to run commands, with bubblewrap's own error and the two ways out (allow
user namespaces, or run with ``--sandbox full-access`` inside a container that is itself the
sandbox), rather than silently running them unconfined. Landlock alone would not cut the
network on the kernels most containers run, which is why it is not the fallback here.
"""

from __future__ import annotations

import shutil
import subprocess
from enum import StrEnum
from functools import cache
from pathlib import Path

from hearth.errors import HearthError


class SandboxMode(StrEnum):
    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    FULL_ACCESS = "full-access"


class SandboxUnavailable(HearthError):
    """The sandbox cannot be built on this machine: the message says why and what to do."""


@cache
def bubblewrap_problem() -> str | None:
    """None when bubblewrap can build a sandbox here, else why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-user", "--unshare-net",
                            "--unshare-pid", "--die-with-parent", "true"], capture_output=True,
                           text=True, timeout=30, check=False)
    if probe.returncode != 0:
        return f"bubblewrap cannot start here: {probe.stderr.strip() or probe.returncode}"
    return None


def sandboxed(argv: list[str], root: Path, mode: SandboxMode, scratch: Path) -> list[str]:
    """``argv`` wrapped to run in ``mode`` with ``root`` as the workspace and ``scratch`` (a
    folder of the agent's own) as ``/tmp``."""
    if mode is SandboxMode.FULL_ACCESS:
        return argv
    problem = bubblewrap_problem()
    if problem is not None:
        raise SandboxUnavailable(
            f"Cannot sandbox shell commands: {problem}. Install bubblewrap and allow user "
            "namespaces, or, inside a container that is itself the sandbox, pass "
            "--sandbox full-access.")
    writable = ["--bind", str(root), str(root)] if mode is SandboxMode.WORKSPACE_WRITE else []
    return ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--bind", str(scratch), "/tmp", *writable,
            "--unshare-user", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--die-with-parent", "--new-session", "--chdir", str(root),
            "--setenv", "TMPDIR", "/tmp", "--", *argv]
