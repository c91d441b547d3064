"""The read tools: listing the repository's files, reading a file's lines, searching them.

Listing and searching honour `.gitignore`: in a git repository the file list comes from
`git ls-files --cached --others --exclude-standard` (tracked files plus untracked ones that are
not ignored); elsewhere it is a walk that skips dot-folders. Build output and virtual
environments would otherwise drown what the model is looking for.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from pathlib import Path

from hearth.agent.tools import paths
from hearth.agent.tools.arguments import ToolCallError
from hearth.agent.tools.specs import DEFAULT_DEPTH, READ_WINDOW

MAX_LINE_CHARS = 500  # a minified line would otherwise fill the whole observation
MAX_MATCHES = 200
MAX_SEARCH_BYTES = 1_000_000  # larger files are data, not code to search
MAX_READ_BYTES = 20_000_000


def repository_files(root: Path) -> list[str]:
    """Every file of the repository the model should see, repository-relative, sorted."""
    real_root = root.resolve()
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=real_root, capture_output=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return sorted(_walk(real_root))
    names = {name for name in listed.decode(errors="replace").split("\0") if name}
    # --cached lists tracked files even when deleted from the work tree.
    return sorted(name for name in names if (real_root / name).is_file())


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder).relative_to(root)
        found.extend((base / name).as_posix() for name in files)
    return found


def _under(files: list[str], prefix: str) -> list[str]:
    if prefix == ".":
        return files
    return [f for f in files if f == prefix or f.startswith(prefix + "/")]


def list_files(root: Path, path: str, depth: int | None) -> str:
    """The files under `path`, folders below `depth` levels folded into one line each."""
    depth = DEFAULT_DEPTH if depth is None else depth
    if depth < 1:
        raise ToolCallError(f"depth must be 1 or more (or null for {DEFAULT_DEPTH}).")
    real = paths.resolve(root, path)
    if not real.is_dir():
        raise ToolCallError(f"'{path}' is not a folder; use read_file to read a file.")
    prefix = paths.relative(root, real)
    files = _under(repository_files(root), prefix)
    if not files:
        return f"{prefix}/ holds no files (files ignored by .gitignore are not listed)."
    start = 0 if prefix == "." else len(prefix) + 1
    shown: list[str] = []
    folded: Counter[str] = Counter()
    for name in files:
        parts = name[start:].split("/")
        if len(parts) <= depth:
            shown.append(name)
        else:
            folded[name[:start] + "/".join(parts[:depth])] += 1
    lines = shown + [f"{folder}/ ({count} files)" for folder, count in folded.items()]
    return "\n".join(sorted(lines))


def read_file(root: Path, path: str, start_line: int | None, end_line: int | None) -> str:
    """Lines `start_line`..`end_line` of a text file, with a note on what follows."""
    real = paths.resolve(root, path)
    rel = paths.relative(root, real)
    if real.is_dir():
        raise ToolCallError(f"'{rel}' is a folder; use list_files to see what it holds.")
    if not real.is_file():
        raise ToolCallError(f"There is no file '{rel}'. Use list_files or search to find it.")
    size = real.stat().st_size
    if size > MAX_READ_BYTES:
        raise ToolCallError(f"'{rel}' is {size} bytes, too large to read; use search, or shell "
                            f"commands such as `head` or `grep`, to look into it.")
    data = real.read_bytes()
    if b"\0" in data[:8192]:
        raise ToolCallError(f"'{rel}' is a binary file ({len(data)} bytes); it cannot be read "
                            f"as text.")
    lines = data.decode(errors="replace").splitlines()
    if not lines:
        return f"{rel} is empty."
    first = max(start_line or 1, 1)
    if first > len(lines):
        raise ToolCallError(f"{rel} has {len(lines)} lines; start_line {first} is past its end.")
    last = min(end_line if end_line is not None else first + READ_WINDOW - 1, len(lines))
    if last < first:
        raise ToolCallError(f"end_line ({last}) is before start_line ({first}).")
    # The lines as they are, under a header that numbers them: small models copy line-number
    # prefixes into the code they write back, so there are none in the text itself.
    body = "\n".join(_clip(lines[n - 1]) for n in range(first, last + 1))
    note = (f"\n[read on with start_line={last + 1}]" if last < len(lines) else "")
    return f"[{rel}, lines {first}-{last} of {len(lines)}]\n{body}{note}"


def search(root: Path, pattern: str, path: str | None) -> str:
    """`file:line: text` for each line of the repository's text files matching `pattern`."""
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise ToolCallError(f"'{pattern}' is not a valid Python regular expression: {error}. "
                            f"Escape special characters like ( [ . * with a backslash.") from None
    real = paths.resolve(root, path or ".")
    prefix = paths.relative(root, real)
    matches: list[str] = []
    total = 0
    for name in _under(repository_files(root), prefix):
        try:
            file = paths.resolve(root, name)  # a symlink may point out of the repository
            if file.stat().st_size > MAX_SEARCH_BYTES:
                continue
            data = file.read_bytes()
        except (OSError, ToolCallError):
            continue
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode(errors="replace").splitlines(), start=1):
            if regex.search(line):
                total += 1
                if len(matches) < MAX_MATCHES:
                    matches.append(f"{name}:{number}: {_clip(line.strip())}")
    if not matches:
        return f"No line matches {pattern!r} under {prefix}."
    more = (f"\n[{total - MAX_MATCHES} more matches not shown: narrow the pattern or the path]"
            if total > MAX_MATCHES else "")
    return "\n".join(matches) + more


def _clip(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return line[:MAX_LINE_CHARS] + f" [... {len(line) - MAX_LINE_CHARS} more characters]"
