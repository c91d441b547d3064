"""What a session reports as it goes: one event per thing that happened.

``hearth code exec --json`` prints each as one JSON line (as ``codex exec --json`` does), the
terminal shows them as text, and a saved session is the list of them plus the messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass(frozen=True)
class Event:
    """``type`` names what happened (``session.started``, ``tool.call``, ``tool.result``, ...);
    ``data`` carries its facts as plain JSON values."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def as_json(self) -> str:
        return json.dumps({"type": self.type, "at": round(self.at, 3), **self.data},
                          ensure_ascii=False)


Emit = Callable[[Event], None]


def json_lines(stream: TextIO) -> Emit:
    """An ``Emit`` that writes each event as one JSON line and flushes, for scripts to follow."""
    def emit(event: Event) -> None:
        stream.write(event.as_json() + "\n")
        stream.flush()
    return emit
