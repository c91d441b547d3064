"""What a tool call gives back to the model, bounded as Codex bounds it.

A small model's context is small: a long command output or file would push the task out of it.
Every observation is cut to ``MAX_BYTES`` and ``MAX_LINES``, keeping the head and the tail (where
errors and summaries are), and the cut is always said, so the model knows to look closer.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 10 * 1024
MAX_LINES = 256


@dataclass(frozen=True)
class Observation:
    text: str  # what the model sees
    ok: bool  # False for a mistake the model must fix, or a command that failed
    changed_files: tuple[str, ...] = ()  # repository-relative paths this call wrote


def bounded(text: str, max_bytes: int = MAX_BYTES, max_lines: int = MAX_LINES) -> str:
    """``text`` whole if it fits, else its first and last lines with the cut marked."""
    lines = text.splitlines()
    if len(lines) <= max_lines and len(text.encode()) <= max_bytes:
        return text
    half_lines, half_bytes = max_lines // 2, max_bytes // 2
    head: list[str] = []
    size = 0
    for line in lines[:half_lines]:
        size += len(line.encode()) + 1
        if size > half_bytes:
            break
        head.append(line)
    tail: list[str] = []
    size = 0
    for line in reversed(lines[len(head):][-half_lines:]):
        size += len(line.encode()) + 1
        if size > half_bytes:
            break
        tail.append(line)
    tail.reverse()
    cut = len(lines) - len(head) - len(tail)
    if not head and not tail:  # one enormous line
        encoded = text.encode()
        return (encoded[:half_bytes].decode(errors="ignore")
                + f"\n[... {len(encoded) - 2 * half_bytes} bytes cut ...]\n"
                + encoded[-half_bytes:].decode(errors="ignore"))
    return "\n".join([*head, f"[... {cut} lines cut: {len(lines)} in all; read a narrower range "
                      "or filter the output ...]", *tail])
