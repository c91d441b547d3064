"""What a tool call gives back: the observation the model reads and the proposal the user approves.

Small models lose the task when one observation floods their context, so every observation is
bounded the way Codex bounds tool output (10 KiB and 256 lines, head and tail kept) and says
how much was cut, never cutting silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_BYTES = 10 * 1024
MAX_LINES = 256


@dataclass(frozen=True)
class Observation:
    """The result of one tool call as the model sees it.

    `ok` is False for mistakes the model must fix (bad arguments, a patch that did not apply, a
    command that failed); `changed_files` lists the repository-relative paths this call wrote.
    """

    text: str
    ok: bool
    changed_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """What the user approves before a call runs: its kind, a one-line summary and, for edits,
    the unified diff computed without writing anything."""

    kind: Literal["read", "edit", "command"]
    summary: str
    diff: str | None = None
    command: str | None = None  # a shell call's command line, for the approval policy


def bound(text: str, max_bytes: int = MAX_BYTES, max_lines: int = MAX_LINES) -> str:
    """`text` cut to at most `max_lines` lines and about `max_bytes` bytes, keeping its head and
    tail (errors and summaries tend to sit at the end) with a marker saying what was cut."""
    total_bytes = len(text.encode())
    lines = text.splitlines(keepends=True)
    if len(lines) <= max_lines and total_bytes <= max_bytes:
        return text
    if len(lines) > max_lines:
        head_source = "".join(lines[:max_lines // 2])
        tail_source = "".join(lines[len(lines) - (max_lines - max_lines // 2):])
    else:  # few but long lines: keep the start and the end of the same text
        head_source = tail_source = text
    head = _clip_bytes(head_source, max_bytes // 2, from_end=False)
    tail = _clip_bytes(tail_source, max_bytes - len(head.encode()), from_end=True)
    cut_bytes = total_bytes - len(head.encode()) - len(tail.encode())
    cut_lines = len(lines) - head.count("\n") - tail.count("\n")
    marker = (f"[... {cut_bytes} bytes cut from the middle, about {cut_lines} of {len(lines)} "
              f"lines; the head and the tail are shown ...]\n")
    return head + ("" if head.endswith("\n") else "\n") + marker + tail


def _clip_bytes(text: str, limit: int, *, from_end: bool) -> str:
    """At most `limit` bytes of `text` from its start (or end), never splitting a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    piece = data[len(data) - limit:] if from_end else data[:limit]
    return piece.decode(errors="ignore")
