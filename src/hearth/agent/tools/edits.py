"""Planning the file changes of an edit tool call, showing them as a diff, and writing them.

An edit is planned in full before anything is written: every hunk of a patch must apply, or
none is written, so a model that gets its third hunk wrong does not leave a half-edited file
behind (Codex writes the hunks that applied). The same plan gives the diff the user approves.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from hearth.agent.tools import paths
from hearth.agent.tools.patch import AddFile, Chunk, DeleteFile, PatchError, UpdateFile, parse_patch
from hearth.agent.tools.seek import closest, seek


@dataclass(frozen=True)
class FileChange:
    """One file's change: `old` is None for a new file, `new` is None for a deleted one."""

    path: str  # repository-relative
    old: str | None
    new: str | None


class _Overlay:
    """The repository as the edit sees it while it is planned: files read from disk, with the
    changes planned so far (a patch may touch the same file twice) laid over them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pending: dict[str, str | None] = {}
        self.original: dict[str, str | None] = {}

    def target(self, path: str) -> str:
        return paths.relative(self.root, paths.resolve(self.root, path, for_writing=True))

    def read(self, rel: str) -> str | None:
        if rel in self.pending:
            return self.pending[rel]
        real = self.root.resolve() / rel
        if rel not in self.original:
            if real.is_dir():
                raise PatchError(f"'{rel}' is a folder, not a file.")
            self.original[rel] = _read_text(real) if real.is_file() else None
        return self.original[rel]

    def write(self, rel: str, content: str | None) -> None:
        self.read(rel)  # remember what was there first
        self.pending[rel] = content

    def changes(self) -> list[FileChange]:
        return [FileChange(rel, self.original[rel], new)
                for rel, new in self.pending.items() if self.original[rel] != new]


def plan_patch(root: Path, text: str) -> list[FileChange]:
    """The changes the apply_patch envelope `text` makes; PatchError (or ToolCallError for a
    path outside the repository) saying what to fix when any part of it does not apply."""
    overlay = _Overlay(root)
    for hunk in parse_patch(text):
        rel = overlay.target(hunk.path)
        if isinstance(hunk, AddFile):
            overlay.write(rel, hunk.content)
        elif isinstance(hunk, DeleteFile):
            if overlay.read(rel) is None:
                raise PatchError(f"Cannot delete {rel}: there is no such file.")
            overlay.write(rel, None)
        else:
            _plan_update(overlay, rel, hunk)
    return overlay.changes()


def plan_write(root: Path, path: str, content: str) -> list[FileChange]:
    """The change a whole-file write of `content` to `path` makes."""
    overlay = _Overlay(root)
    # A text file ends with a newline; models often leave it out of a whole file they write.
    overlay.write(overlay.target(path), content if not content or content.endswith("\n")
                  else content + "\n")
    return overlay.changes()


def _plan_update(overlay: _Overlay, rel: str, hunk: UpdateFile) -> None:
    original = overlay.read(rel)
    if original is None:
        raise PatchError(f"Cannot update {rel}: there is no such file. Use '*** Add File: "
                         f"{rel}' with every line starting with '+' to create it.")
    updated = apply_chunks(original, hunk.chunks, rel)
    if hunk.move_to is None:
        overlay.write(rel, updated)
        return
    overlay.write(rel, None)
    overlay.write(overlay.target(hunk.move_to), updated)


def apply_chunks(original: str, chunks: tuple[Chunk, ...], rel: str) -> str:
    """`original` with each chunk's old lines replaced by its new ones, searched in order.
    A file with Windows line ends keeps them."""
    crlf = "\r\n" in original
    lines = original.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    replacements: list[tuple[int, int, tuple[str, ...]]] = []
    position = 0
    for number, chunk in enumerate(chunks, start=1):
        if chunk.context is not None:
            found = seek(lines, [chunk.context], position)
            if found is None:
                raise PatchError(
                    f"Hunk {number} for {rel}: the line '@@ {chunk.context}' was not found in "
                    f"{rel}{_after(position)}. Read the file and copy a line from it after '@@'.")
            position = found + 1
        if not chunk.old:
            at = len(lines) if chunk.context is None or chunk.end_of_file else position
            replacements.append((at, 0, chunk.new))
            continue
        body = chunk.lines
        found = seek(lines, chunk.old, position, end_of_file=chunk.end_of_file)
        if found is None and body[-1] == (" ", ""):  # an empty line meaning the final newline
            body = body[:-1]
            found = seek(lines, [text for marker, text in body if marker != "+"], position,
                         end_of_file=chunk.end_of_file)
        if found is None:
            raise PatchError(_not_found(lines, chunk.old, rel, number, position))
        old_length = sum(marker != "+" for marker, _ in body)
        replacements.append((found, old_length, _replacement(lines, found, body)))
        position = found + old_length
    # From the end, so earlier indices stay valid; two insertions at one place keep their order.
    for start, length, new in reversed(sorted(replacements, key=lambda r: r[0])):
        lines[start:start + length] = new
    return ("\r\n" if crlf else "\n").join(lines + [""])


def _replacement(lines: list[str], found: int, body: tuple[tuple[str, str], ...]
                 ) -> tuple[str, ...]:
    """The new lines of a hunk matched at `found`, its context lines taken from the file:
    a context line matched despite wrong indentation must not be rewritten with it."""
    new: list[str] = []
    at = found
    for marker, text in body:
        if marker == " ":
            new.append(lines[at])
        if marker == "+":
            new.append(text)
        else:
            at += 1
    return tuple(new)


def _after(position: int) -> str:
    return f" after line {position}" if position else ""


def _not_found(lines: list[str], old: tuple[str, ...], rel: str, number: int,
               position: int) -> str:
    expected = "\n".join(old)
    message = (f"Hunk {number} for {rel}: these lines (' ' and '-' lines of the hunk) were not "
               f"found in {rel}{_after(position)}:\n{expected}\n")
    # Look where the hunk was expected (after its @@ line) first.
    offset = position if position < len(lines) else 0
    near = closest(lines[offset:], old)
    if near is not None:
        start, end = near[0] + offset, near[1] + offset
        span = f"line {end}" if end - start == 1 else f"lines {start + 1}-{end}"
        shown = "\n".join(lines[start:end])
        message += f"The closest lines in {rel} ({span}) are:\n{shown}\n"
    return message + ("Read the file again and copy the context and removed lines exactly as "
                      "they are, or use write_file to replace the whole file.")


def unified_diff(changes: list[FileChange]) -> str:
    """The changes as one unified diff (git's a/ b/ form, /dev/null for added and deleted)."""
    parts: list[str] = []
    for change in changes:
        before = change.old.splitlines(keepends=True) if change.old is not None else []
        after = change.new.splitlines(keepends=True) if change.new is not None else []
        for line in difflib.unified_diff(
                before, after,
                fromfile=f"a/{change.path}" if change.old is not None else "/dev/null",
                tofile=f"b/{change.path}" if change.new is not None else "/dev/null"):
            parts.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(parts)


def write_changes(root: Path, changes: list[FileChange]) -> None:
    """Write planned changes to disk, making folders as needed."""
    real_root = root.resolve()
    for change in changes:
        target = real_root / change.path
        if change.new is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(change.new.encode("utf-8"))


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")  # read_text would turn \r\n into \n
    except UnicodeDecodeError:
        raise PatchError(f"'{path.name}' is not a UTF-8 text file; it cannot be "
                         f"edited with a patch.") from None
