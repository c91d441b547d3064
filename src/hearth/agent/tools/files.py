"""The reading tools: list the tree, read a file by lines, search with a regular expression.

Listing and search see what git sees (``git ls-files``: tracked and untracked files, minus what
``.gitignore`` leaves out), so a virtual environment or a build folder never floods the model;
outside a git repository they skip hidden and build folders.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hearth.agent.tools.errors import ToolCallError
from hearth.agent.tools.observation import Observation, bounded
from hearth.agent.tools.paths import inside, relative

SKIP = {"node_modules", "__pycache__", ".venv", "venv", "dist", "build"}
MAX_READ_LINES = 400
MAX_SEARCH_HITS = 200


def project_files(root: Path, under: Path) -> list[str]:
    """Files under ``under``, relative to ``root``, sorted."""
    try:
        done = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "--",
                               relative(root, under)], cwd=root, capture_output=True,
                              timeout=30, check=False)
        if done.returncode == 0:
            return sorted({n for n in done.stdout.decode(errors="replace").split("\0")
                           if n and (root / n).is_file()})
    except (OSError, subprocess.TimeoutExpired):
        pass
    found = []
    for path in under.rglob("*"):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(".") or p in SKIP for p in parts):
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def list_files(root: Path, path: str, depth: int | None) -> Observation:
    folder = inside(root, path or ".")
    if not folder.is_dir():
        raise ToolCallError(f"{path!r} is not a folder; use read_file for a file.")
    depth = depth if depth and depth > 0 else 3
    base = folder.relative_to(root).parts
    shown: list[str] = []
    for name in project_files(root, folder):
        parts = Path(name).parts[len(base):]
        entry = "/".join(parts[:depth]) + ("/" if len(parts) > depth else "")
        if not shown or shown[-1] != entry:
            shown.append(entry)
    if not shown:
        return Observation(f"{relative(root, folder)}/ has no files.", True)
    return Observation(bounded("\n".join(dict.fromkeys(shown))), True)


def read_file(root: Path, path: str, start_line: int | None, end_line: int | None) -> Observation:
    target = inside(root, path)
    if not target.is_file():
        raise ToolCallError(f"{path!r} does not exist or is not a file; list_files shows what "
                            "there is.")
    lines = target.read_text(errors="replace").splitlines()
    start = max(start_line or 1, 1)
    end = min(end_line or len(lines), len(lines), start + MAX_READ_LINES - 1)
    if not lines:
        return Observation(f"{path} is empty.", True)
    if start > len(lines):
        raise ToolCallError(f"{path} has {len(lines)} lines; start_line {start} is past its end.")
    body = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(start, end + 1))
    more = (f"\n[lines {start}-{end} of {len(lines)}; read on with start_line={end + 1}]"
            if end < len(lines) else "")
    return Observation(bounded(body) + more, True)


def search(root: Path, pattern: str, path: str | None) -> Observation:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolCallError(f"{pattern!r} is not a valid regular expression: {exc}.") from None
    under = inside(root, path or ".")
    names = ([relative(root, under)] if under.is_file() else project_files(root, under))
    hits: list[str] = []
    for name in names:
        try:
            text = (root / name).read_text(errors="strict")
        except (UnicodeDecodeError, OSError):
            continue  # binary or unreadable: not what a code search is for
        for number, line in enumerate(text.splitlines(), 1):
            if regex.search(line):
                hits.append(f"{name}:{number}: {line.strip()[:200]}")
                if len(hits) >= MAX_SEARCH_HITS:
                    hits.append(f"[stopped at {MAX_SEARCH_HITS} matches; narrow the pattern "
                                "or the path]")
                    return Observation(bounded("\n".join(hits)), True)
    return Observation(bounded("\n".join(hits)) if hits else f"No match for {pattern!r}.", True)
