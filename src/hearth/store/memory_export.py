"""One owner's memories taken out whole and put back: history and provenance included.

An export holds current and superseded memories alike. An import re-creates them for the
importing owner (new ids, fresh embeddings), restores which memory superseded which, and
skips memories the owner already has, so importing the same file twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from hearth.store import memories as store
from hearth.store.db import Database
from hearth.store.memories import MemoryRecord, Owner, SourceRef
from hearth.store.tables import Memory

PAGE = 500


@dataclass(frozen=True)
class PortableMemory:
    """One memory as an export document carries it; ``id`` is its id in that document only."""

    id: int | None
    kind: str
    text: str
    observed_at: datetime
    subject: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    importance: float = 0.5
    pinned: bool = False
    superseded_by: int | None = None
    sources: tuple[SourceRef, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    imported: int
    skipped: int  # already stored for this owner (same kind, text and time)


def all_memories(db: Database, owner: Owner) -> list[MemoryRecord]:
    """Every memory of the owner, current and superseded, oldest first."""
    newest_first: list[MemoryRecord] = []
    while True:
        page = store.list_memories(db, owner, include_superseded=True, limit=PAGE,
                                   offset=len(newest_first))
        newest_first.extend(page)
        if len(page) < PAGE:
            return newest_first[::-1]


def _identity(memory: PortableMemory | MemoryRecord) -> tuple[str, str, datetime]:
    return memory.kind, memory.text, memory.observed_at


def import_memories(db: Database, owner: Owner, memories: Sequence[PortableMemory],
                    embed: Callable[[list[str]], np.ndarray]) -> ImportResult:
    """Add exported memories to the owner's, in one transaction; ``embed`` turns texts into
    vectors (only the memories actually added are embedded)."""
    ids_here = {_identity(m): m.id for m in all_memories(db, owner)}
    first_of_each: dict[tuple[str, str, datetime], PortableMemory] = {}
    for memory in memories:
        if _identity(memory) not in ids_here:
            first_of_each.setdefault(_identity(memory), memory)
    fresh = list(first_of_each.values())
    vectors = embed([m.text for m in fresh])
    with db.session() as session:
        for memory, vector in zip(fresh, vectors):
            record = store.add_memory_in(
                session, owner, kind=memory.kind, text=memory.text, embedding=vector,
                observed_at=memory.observed_at, subject=memory.subject,
                valid_from=memory.valid_from, importance=memory.importance,
                pinned=memory.pinned, sources=memory.sources)
            ids_here[_identity(memory)] = record.id
        # Superseded_by names ids of the document; point it at the same memories here.
        new_ids = {m.id: ids_here[_identity(m)] for m in memories if m.id is not None}
        for memory in fresh:
            if memory.valid_to is None:
                continue
            # Created for this owner a moment ago, in this transaction.
            row = session.get(Memory, ids_here[_identity(memory)])
            assert row is not None
            row.valid_to = memory.valid_to
            if memory.superseded_by is not None:
                row.superseded_by = new_ids.get(memory.superseded_by)
    return ImportResult(imported=len(fresh), skipped=len(memories) - len(fresh))
