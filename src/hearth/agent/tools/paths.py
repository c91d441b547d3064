"""Paths the model names, resolved inside the workspace or refused.

Every path argument is taken relative to the repository root. One that leaves it (``..``, an
absolute path elsewhere, or a symlink that points out) is refused by every tool, and ``.git/``
is never written: the agent works on the code, not on the history.
"""

from __future__ import annotations

from pathlib import Path

from hearth.agent.tools.errors import ToolCallError


def inside(root: Path, name: str, *, writing: bool = False) -> Path:
    """The resolved path of ``name`` under ``root``; ToolCallError when it is outside."""
    if not isinstance(name, str) or "\x00" in name:
        raise ToolCallError("A path must be a string.")
    relative = name.strip() or "."
    candidate = (root / relative) if not Path(relative).is_absolute() else Path(relative)
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise ToolCallError(f"{name!r} is outside the repository ({root}); use a path inside "
                            "it, relative to its root.")
    if writing and (resolved == root / ".git" or (root / ".git") in resolved.parents):
        raise ToolCallError(f"{name!r} is inside .git/, which the agent never writes.")
    return resolved


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else "."
