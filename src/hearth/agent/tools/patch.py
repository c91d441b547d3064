"""Parsing Codex's apply_patch envelope into hunks, with errors that tell the model what to fix.

The grammar (Codex's, read from codex-rs/apply-patch; this is our own parser):

    *** Begin Patch
    *** Add File: path          then the file's lines, each starting with '+'
    *** Delete File: path
    *** Update File: path       optionally followed by '*** Move to: new/path', then chunks:
    @@ optional context line    then lines starting with ' ' (kept), '-' (removed), '+' (added),
                                optionally ending with '*** End of File'
    *** End Patch

Like Codex it is lenient where models slip: markers may carry surrounding whitespace, the
patch may be wrapped in a `<<'EOF'` heredoc, a blank line inside a chunk is an empty context
line, and the first chunk of an update may leave out its `@@`. Beyond Codex, a unified diff's
`@@ -1,3 +1,4 @@` header and git's `\\ No newline at end of file` are accepted, since small models
reach for the diff format they have seen most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hearth.agent.tools.arguments import ToolCallError

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
END_OF_FILE = "*** End of File"
# A unified diff's hunk header, `@@ -12,3 +12,4 @@ def f():`, which models write out of habit:
# its line numbers are dropped and the text after it, if any, is the context line.
_UNIFIED_HEADER = re.compile(r"@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@ ?(.*)")
_NO_NEWLINE = "\\ No newline at end of file"


class PatchError(ToolCallError):
    """A patch that cannot be parsed or applied; the message says where and what to change."""


@dataclass(frozen=True)
class Chunk:
    """One `@@` section: its lines as (marker, text) pairs, the marker ' ' (context), '-'
    (removed) or '+' (added); searched for after the line matching `context` (when given) and
    at the end of the file when `end_of_file`."""

    context: str | None
    lines: tuple[tuple[str, str], ...]
    end_of_file: bool = False

    @property
    def old(self) -> tuple[str, ...]:
        """The lines the file holds before the change: context and removed lines."""
        return tuple(text for marker, text in self.lines if marker != "+")

    @property
    def new(self) -> tuple[str, ...]:
        """The lines the file holds after the change: context and added lines."""
        return tuple(text for marker, text in self.lines if marker != "-")


@dataclass(frozen=True)
class AddFile:
    path: str
    content: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class UpdateFile:
    path: str
    move_to: str | None
    chunks: tuple[Chunk, ...] = field(default=())


Hunk = AddFile | DeleteFile | UpdateFile


def parse_patch(text: str) -> list[Hunk]:
    """The hunks of `text`, in order; PatchError naming the line (1-based) that is wrong."""
    lines = _unwrap(text.strip().splitlines())
    if not lines or lines[0].strip() != BEGIN:
        raise PatchError(f"The first line of the patch must be '{BEGIN}'.")
    if lines[-1].strip() != END:
        raise PatchError(f"The last line of the patch must be '{END}'.")
    hunks: list[Hunk] = []
    index = 1
    while index < len(lines) - 1:
        if not lines[index].strip():
            index += 1
            continue
        hunk, index = _parse_hunk(lines, index, len(lines) - 1)
        hunks.append(hunk)
    if not hunks:
        raise PatchError("The patch is empty: put at least one '*** Add File:', "
                         "'*** Update File:' or '*** Delete File:' section between the markers.")
    return hunks


def _is_section_marker(line: str) -> bool:
    """Whether `line` starts a new section or ends the patch (models pad markers with spaces)."""
    stripped = line.strip()
    return stripped == END or stripped.startswith((ADD, DELETE, UPDATE))


def _unwrap(lines: list[str]) -> list[str]:
    """The patch lines without a `<<'EOF'` ... `EOF` heredoc around them (models copy the
    shell form of Codex's instructions)."""
    if (len(lines) >= 4 and lines[0].strip() in ("<<EOF", "<<'EOF'", '<<"EOF"')
            and lines[-1].strip().endswith("EOF")):
        return lines[1:-1]
    return lines


def _parse_hunk(lines: list[str], index: int, stop: int) -> tuple[Hunk, int]:
    header = lines[index].strip()
    if header.startswith(ADD):
        path, index = header[len(ADD):].strip(), index + 1
        content: list[str] = []
        while index < stop and lines[index].startswith("+"):
            content.append(lines[index][1:] + "\n")
            index += 1
        if index < stop and lines[index].strip() and not _is_section_marker(lines[index]):
            raise PatchError(
                f"Line {index + 1} of the patch, '{lines[index]}', in the section '{ADD}{path}':"
                f" every line of a new file must start with '+'.")
        return AddFile(path, "".join(content)), index
    if header.startswith(DELETE):
        return DeleteFile(header[len(DELETE):].strip()), index + 1
    if header.startswith(UPDATE):
        return _parse_update(lines, index, stop)
    raise PatchError(
        f"Line {index + 1} of the patch, '{header}', is not a valid section header. Each "
        f"section starts with '{ADD}path', '{UPDATE}path' or '{DELETE}path'.")


def _parse_update(lines: list[str], index: int, stop: int) -> tuple[UpdateFile, int]:
    header_line = index
    path = lines[index].strip()[len(UPDATE):].strip()
    index += 1
    move_to = None
    if index < stop and lines[index].strip().startswith(MOVE):
        move_to = lines[index].strip()[len(MOVE):].strip()
        index += 1
    chunks: list[Chunk] = []
    while index < stop:
        if not lines[index].strip() and not _chunk_continues(lines, index, stop):
            index += 1
            continue
        if _is_section_marker(lines[index]):
            break
        chunk, index = _parse_chunk(lines, index, stop, first=not chunks, path=path)
        chunks.append(chunk)
    if not chunks:
        raise PatchError(
            f"The '{UPDATE}{path}' section (line {header_line + 1}) has no changes: add an "
            f"'@@' hunk with ' ' context, '-' removed and '+' added lines.")
    return UpdateFile(path, move_to, tuple(chunks)), index


def _chunk_continues(lines: list[str], index: int, stop: int) -> bool:
    """Whether the blank line at `index` sits inside a chunk (an empty context line) rather
    than between sections."""
    following = next((line for line in lines[index + 1:stop] if line.strip()), None)
    return following is not None and following[:1] in (" ", "-", "+")


def _parse_chunk(lines: list[str], index: int, stop: int, *, first: bool,
                 path: str) -> tuple[Chunk, int]:
    marker = lines[index].strip()
    context = None
    if marker == "@@" or marker.startswith("@@ "):
        unified = _UNIFIED_HEADER.fullmatch(marker)
        context = (unified.group(1) if unified else marker[3:]).strip() or None
        index += 1
    elif not first:
        raise PatchError(
            f"Line {index + 1} of the patch, '{lines[index]}', in the section for {path}: "
            f"each hunk after the first must start with '@@' (optionally followed by a line "
            f"to search for, like '@@ def main():').")
    body: list[tuple[str, str]] = []
    end_of_file = False
    start = index
    while index < stop:
        line = lines[index]
        if line.strip() == END_OF_FILE:
            end_of_file = True
            index += 1
            break
        if _is_section_marker(line) or line.startswith("@@") or (
                not line.strip() and not _chunk_continues(lines, index, stop)):
            break
        if line.strip() == _NO_NEWLINE:  # git's marker, copied from a diff: nothing to do
            pass
        elif line == "" or line[0] in " -+":
            body.append((line[:1] or " ", line[1:]))
        else:
            raise PatchError(
                f"Line {index + 1} of the patch, '{line}', in the section for {path}: every "
                f"line of a hunk must start with ' ' (context), '-' (removed) or '+' (added); "
                f"put a space before unchanged lines.")
        index += 1
    if not body:
        raise PatchError(
            f"The hunk starting at line {start} of the patch, in the section for {path}, has "
            f"no lines: give ' ' context, '-' removed and '+' added lines after '@@'.")
    return Chunk(context, tuple(body), end_of_file), index
