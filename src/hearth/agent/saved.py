"""Sessions on disk, so a crash loses nothing and ``hearth code resume`` goes on where it was.

A session is one JSON file: its settings, its messages and its events, rewritten atomically
(temporary file, then rename) after every step.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.errors import NotFound


@dataclass
class SavedSession:
    id: str
    root: str
    model: str
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    @classmethod
    def new(cls, root: Path, model: str, messages: list[dict[str, Any]]) -> SavedSession:
        return cls(time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6], str(root), model,
                   messages)


class SessionFolder:
    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, session: SavedSession) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        session.updated_at = time.time()
        path = self.folder / f"{session.id}.json"
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(session.__dict__, out, ensure_ascii=False)
        os.replace(temporary, path)
        return path

    def load(self, session_id: str | None = None, *, root: Path | None = None) -> SavedSession:
        """The session named, or the latest one (for ``root`` when given)."""
        if session_id is not None:
            path = self.folder / f"{session_id}.json"
            if not path.is_file():
                raise NotFound(f"No saved session {session_id!r} in {self.folder}; "
                               "`hearth code sessions` lists them.")
            return SavedSession(**json.loads(path.read_text()))
        sessions = self.list()
        if root is not None:
            sessions = [s for s in sessions if Path(s.root) == root.resolve()]
        if not sessions:
            raise NotFound(f"No saved session{' for ' + str(root) if root else ''} to resume.")
        return sessions[0]

    def list(self) -> list[SavedSession]:
        """Saved sessions, the most recently updated first."""
        found = [SavedSession(**json.loads(p.read_text()))
                 for p in self.folder.glob("*.json")] if self.folder.is_dir() else []
        return sorted(found, key=lambda s: s.updated_at, reverse=True)
