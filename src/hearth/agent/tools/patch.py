"""Codex's ``apply_patch`` format: parsed, checked against the files, applied all or nothing.

The envelope (as Codex CLI's models are trained to write it)::

    *** Begin Patch
    *** Add File: path        then every line starting with "+"
    *** Delete File: path
    *** Update File: path
    *** Move to: new/path     (optional)
    @@ optional line to find first
     context line
    -removed line
    +added line
    *** End Patch

A hunk's context and removed lines are looked for in the file from where the previous hunk
ended, exactly first, then ignoring trailing whitespace, then ignoring all surrounding
whitespace (Codex's ``seek_sequence``): small models get indentation wrong more often than
content. When a hunk is not found, the error quotes it and the closest lines of the file, so
the model can correct the patch instead of repeating it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hearth.agent.tools.errors import ToolCallError

BEGIN, END = "*** Begin Patch", "*** End Patch"
ADD, DELETE, UPDATE, MOVE = "*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: "
END_OF_FILE = "*** End of File"


@dataclass
class Hunk:
    anchor: str  # the text after "@@", a line to find before the hunk ("" for none)
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    at_end: bool = False


@dataclass
class FileChange:
    kind: str  # "add", "delete" or "update"
    path: str
    move_to: str | None = None
    added: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)


def parse(text: str) -> list[FileChange]:
    """The envelope's file changes, or a ToolCallError saying which line is wrong."""
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("<<") and lines[-1].strip() in ("EOF", "'EOF'"):
        lines = lines[1:-1]  # a heredoc wrapper, as a shell command would have it
    if not lines or lines[0].strip() != BEGIN:
        raise ToolCallError(f"A patch must start with the line '{BEGIN}'.")
    if lines[-1].strip() != END:
        raise ToolCallError(f"A patch must end with the line '{END}'.")
    changes: list[FileChange] = []
    for number, line in enumerate(lines[1:-1], start=2):
        if line.startswith((ADD, DELETE, UPDATE)):
            kind = "add" if line.startswith(ADD) else "delete" if line.startswith(DELETE) else "update"
            path = line.split(": ", 1)[1].strip()
            if not path:
                raise ToolCallError(f"Line {number}: give the file's path after '{line.strip()}'.")
            changes.append(FileChange(kind, path))
            continue
        if not changes:
            raise ToolCallError(f"Line {number}: expected '*** Add File: ', '*** Update File: ' "
                                f"or '*** Delete File: ', got {line!r}.")
        change = changes[-1]
        if change.kind == "add":
            if not line.startswith("+"):
                raise ToolCallError(f"Line {number}: every line of an added file starts with "
                                    f"'+'; got {line!r}.")
            change.added.append(line[1:])
        elif change.kind == "delete":
            raise ToolCallError(f"Line {number}: a deleted file takes no lines; got {line!r}.")
        elif line.startswith(MOVE) and not change.hunks:
            change.move_to = line[len(MOVE):].strip()
        elif line.startswith("@@"):
            change.hunks.append(Hunk(line[2:].strip()))
        elif line.strip() == END_OF_FILE:
            if change.hunks:
                change.hunks[-1].at_end = True
        else:
            if not change.hunks:
                change.hunks.append(Hunk(""))  # "@@" may be left out before the first hunk
            hunk = change.hunks[-1]
            marker, body = (line[:1], line[1:]) if line[:1] in (" ", "-", "+") else (" ", line)
            if marker in (" ", "-"):
                hunk.old.append(body)
            if marker in (" ", "+"):
                hunk.new.append(body)
    for change in changes:
        if change.kind == "update" and not change.hunks and not change.move_to:
            raise ToolCallError(f"'*** Update File: {change.path}' has no hunks: add lines "
                                "starting with ' ', '-' or '+'.")
    if not changes:
        raise ToolCallError("The patch changes no file.")
    return changes


_LOOSENESS: list[Callable[[str], str]] = [lambda s: s, str.rstrip, str.strip]


def seek(lines: list[str], wanted: list[str], start: int, at_end: bool) -> int | None:
    """Where ``wanted`` starts in ``lines`` at or after ``start``, matching exactly first and then
    ever more loosely about whitespace; None when it is not there."""
    if not wanted:
        return len(lines) if at_end else start
    last = len(lines) - len(wanted)
    candidates = [last] if at_end else range(start, last + 1)
    for loose in _LOOSENESS:
        target = [loose(w) for w in wanted]
        for index in candidates:
            if index >= 0 and [loose(x) for x in lines[index:index + len(wanted)]] == target:
                return index
    return None


def _closest(lines: list[str], wanted: list[str]) -> str:
    """The window of the file most like the lines that were not found, numbered."""
    size = max(len(wanted), 1)
    best, best_at = 0.0, 0
    goal = "\n".join(w.strip() for w in wanted)
    for index in range(0, max(len(lines) - size + 1, 1)):
        score = difflib.SequenceMatcher(
            None, goal, "\n".join(x.strip() for x in lines[index:index + size])).ratio()
        if score > best:
            best, best_at = score, index
    window = lines[best_at:best_at + size]
    return "\n".join(f"{best_at + i + 1:>5}  {line}" for i, line in enumerate(window))


def updated(path: str, text: str, hunks: list[Hunk]) -> str:
    """``text`` with ``hunks`` applied in order, or a ToolCallError naming the hunk not found."""
    lines = text.splitlines()
    position = 0
    for number, hunk in enumerate(hunks, 1):
        if hunk.anchor:
            found = seek(lines, [hunk.anchor], position, False)
            if found is None:
                raise ToolCallError(f"In {path}, hunk {number}: the line after '@@' "
                                    f"({hunk.anchor!r}) is not in the file. Read the file and "
                                    "use a line that is there, or leave the '@@' line bare.")
            position = found + 1
        found = seek(lines, hunk.old, position, hunk.at_end)
        if found is None:
            quoted = "\n".join(hunk.old)
            raise ToolCallError(
                f"In {path}, hunk {number}: these lines are not in the file"
                f"{' after the previous hunk' if number > 1 else ''}:\n{quoted}\n"
                f"The closest lines in the file are:\n{_closest(lines, hunk.old)}\n"
                "Read the file again and copy its lines exactly into the ' ' and '-' lines.")
        lines[found:found + len(hunk.old)] = hunk.new
        position = found + len(hunk.new)
    return "\n".join(lines) + ("\n" if lines else "")


def plan(root: Path, changes: list[FileChange],
         resolve: Callable[[str], Path]) -> dict[Path, str | None]:
    """Every file's new content (None: deleted), computed without writing anything."""
    result: dict[Path, str | None] = {}
    for change in changes:
        target = resolve(change.path)
        current = result[target] if target in result else (
            target.read_text() if target.is_file() else None)
        if change.kind == "add":
            if current is not None:
                raise ToolCallError(f"{change.path} already exists: use '*** Update File: "
                                    f"{change.path}' to change it.")
            result[target] = "\n".join(change.added) + "\n"
        elif current is None:
            raise ToolCallError(f"{change.path} does not exist: use '*** Add File: "
                                f"{change.path}' to create it.")
        elif change.kind == "delete":
            result[target] = None
        else:
            content = updated(change.path, current, change.hunks)
            if change.move_to:
                result[target] = None
                target = resolve(change.move_to)
            result[target] = content
    return result
