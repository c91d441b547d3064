"""Resolving the model's path arguments inside the repository, and nowhere else.

A path is resolved against the root with every symlink followed, so `..`, absolute paths and
links that point out of the repository are all caught by one check on the real path. Edit tools
also refuse `.git/`: the agent's history of its own changes must not be rewritten by the model.
"""

from __future__ import annotations

import os
from pathlib import Path

from hearth.agent.tools.arguments import ToolCallError


def resolve(root: Path, path: str, *, for_writing: bool = False) -> Path:
    """The real path `path` names under `root`; ToolCallError when it leaves the repository
    (directly, through `..`, or through a symlink) or, for writing, lies inside `.git/`."""
    if not path.strip():
        raise ToolCallError("The path is empty: give a path relative to the repository root.")
    real_root = root.resolve()
    try:
        real = Path(os.path.realpath(real_root / path))
    except ValueError:  # a NUL byte in the path
        raise ToolCallError(f"{path!r} is not a valid path.") from None
    if real != real_root and real_root not in real.parents:
        raise ToolCallError(
            f"'{path}' is outside the repository ({real_root}); only paths inside it can be "
            f"used. Give a path relative to the repository root, without '..'.")
    if for_writing and ".git" in real.relative_to(real_root).parts:
        raise ToolCallError(f"'{path}' is inside .git/, which the edit tools never write.")
    return real


def relative(root: Path, real: Path) -> str:
    """`real` (from `resolve`) as the repository-relative path the model and the user see."""
    rel = real.relative_to(root.resolve()).as_posix()
    return rel or "."
