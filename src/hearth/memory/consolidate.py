"""Consolidation: decide what a new candidate memory does to what is already stored.

- a near-duplicate of a current memory adds its message to that memory's provenance (and
  nudges its importance) instead of storing the fact twice; the stored memory is never
  deleted by hearing the same fact again;
- a keyed, single-valued fact (where someone lives, their job, a favourite) with a new value
  supersedes the current one: the old memory gets ``valid_to`` and ``superseded_by`` and
  stays as history;
- anything else is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

from hearth.memory.extract import Candidate
from hearth.store import memories as store
from hearth.store.memories import MemoryRecord, Owner, SourceRef

DUPLICATE_SIMILARITY = 0.93
# Candidates an approximate vector index compares exactly when looking for a duplicate. A
# vector this close (cosine 0.93) differs in about an eighth of its sign bits, an unrelated one
# in a third or more, so a duplicate is among the very nearest by sign bits: a few suffice,
# where recall compares hundreds (and SQLite's index then searches the owner's vectors in one
# query, ``hearth.store.search_sqlite``).
DUPLICATE_CANDIDATES = 8
# The two nearest: a superseded twin of the fact may stand before the current one.
DUPLICATES_LOOKED_AT = 2

Action = Literal["added", "duplicate", "superseded"]


@dataclass(frozen=True)
class Outcome:
    action: Action
    memory: MemoryRecord
    replaced: int | None = None


def _near_duplicate(session: Session, owner: Owner,
                    embedding: np.ndarray) -> MemoryRecord | None:
    close = [(i, s) for i, s in store.vector_search_in(session, owner, embedding,
                                                         limit=DUPLICATES_LOOKED_AT,
                                                         compared=DUPLICATE_CANDIDATES)
             if s >= DUPLICATE_SIMILARITY]
    for record in store.get_many_in(session, owner, [i for i, _ in close]):
        if record.current:
            return record
    return None


def consolidate(session: Session, owner: Owner, candidate: Candidate, embedding: np.ndarray,
                sources: list[SourceRef]) -> Outcome:
    """Store one candidate, drawn from ``sources``, against the owner's memories, in the
    caller's transaction (a message's candidates are consolidated in one)."""
    duplicate = _near_duplicate(session, owner, embedding)
    if duplicate is not None:
        updated = store.update_memory_in(
            session, owner, duplicate.id, add_sources=sources,
            importance=min(1.0, max(duplicate.importance, candidate.importance) + 0.05),
        )
        return Outcome("duplicate", updated)
    previous = (store.current_with_subject(session, owner, candidate.subject)
                if candidate.subject else [])
    added = store.add_memory_in(
        session, owner, kind=candidate.kind, text=candidate.text, embedding=embedding,
        observed_at=candidate.observed_at, subject=candidate.subject,
        valid_from=candidate.observed_at, importance=candidate.importance, sources=sources,
    )
    for old in previous:
        store.supersede(session, owner, old.id, by=added.id, valid_to=candidate.observed_at)
    if previous:
        return Outcome("superseded", added, replaced=previous[0].id)
    return Outcome("added", added)
