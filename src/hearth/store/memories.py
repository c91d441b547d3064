"""Memories, their provenance and their search indexes, kept in step in one place.

Every function takes the caller's ``org_id``/``user_id`` and narrows every query to them;
a memory that belongs to someone else behaves exactly like one that does not exist. The
full-text and vector indexes (FTS5 and sqlite-vec on SQLite, tsvector and pgvector on
PostgreSQL: ``_search_index`` picks) are written in the same transaction as the row, so they
can never disagree with it, and a delete removes the row from all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import numpy as np
from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from hearth.errors import NotFound
from hearth.store import search_postgres, search_sqlite, vector_sums
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.search import IndexEntry, SearchIndex, question_words
from hearth.store.tables import Memory, MemoryJob, MemorySource, utcnow

# What a memory can be (DESIGN.md, Memory): the one list that extraction and the API use.
KINDS = ("profile", "preference", "relationship", "event", "plan", "instruction", "fact")

# From this many memories of one owner on, a full-text search leaves out stop words ("what",
# "my", "did"). They still help with fewer: hearth's memories quote the question a bare
# answer replied to, and a question's function words find those quotes (LoCoMo dev:
# recall@5 0.700 with them, 0.683 without; recall@10 0.785 and 0.782). With many memories
# each one matches a large share of them, and the index ranks every match (at 100,000
# memories a search takes 3 to 5 times as long with them: scale benchmark, p95 and p50).
STOP_WORDS_FROM = 10_000


@dataclass(frozen=True)
class SourceRef:
    """Where a memory came from: a stored message, an external reference, or both."""

    message_id: int | None = None
    conversation_id: str | None = None
    ref: str | None = None
    excerpt: str | None = None


@dataclass(frozen=True)
class MemoryRecord:
    id: int
    org_id: str
    user_id: str
    kind: str
    text: str
    subject: str | None
    observed_at: datetime
    valid_from: datetime | None
    valid_to: datetime | None
    importance: float
    pinned: bool
    superseded_by: int | None
    created_at: datetime
    updated_at: datetime
    sources: tuple[SourceRef, ...] = ()

    @property
    def current(self) -> bool:
        return self.valid_to is None


_SEARCH_INDEXES: dict[str, SearchIndex] = {"sqlite": search_sqlite,
                                            "postgresql": search_postgres}


def _search_index(session: Session) -> SearchIndex:
    """The search indexes of this session's database: the one place that tells them apart."""
    return _SEARCH_INDEXES[session.get_bind().dialect.name]


def _owned(statement: Any, owner: Owner) -> Any:
    return statement.where(Memory.org_id == owner.org_id, Memory.user_id == owner.user_id)


# ``get_many`` in plain SQL: recall reads a hundred memories per question, and SQLAlchemy's
# per-value result processing was a third of its time (100 of 100,000 memories: 9.5 ms,
# 5.9 ms in plain SQL). The primary key finds the rows and the owner only checks them:
# compared as ``org_id || ''``, the owner cannot be looked up in its index, which SQLite would
# otherwise prefer to an id list and read every one of the owner's rows through (30 ms
# instead of 0.6 ms for 100 ids among 100,000 memories).
_RECORD_COLUMNS = ("id", "org_id", "user_id", "kind", "text", "subject", "observed_at",
                   "valid_from", "valid_to", "importance", "pinned", "superseded_by",
                   "created_at", "updated_at")
_record_values = attrgetter(*_RECORD_COLUMNS)
_MANY_MEMORIES = sql_text(
    f"SELECT {', '.join(_RECORD_COLUMNS)} FROM memories "
    "WHERE id IN :ids AND org_id || '' = :org AND user_id || '' = :user",
).bindparams(bindparam("ids", expanding=True))
_SOURCES_OF = sql_text(
    "SELECT memory_id, message_id, conversation_id, ref, excerpt FROM memory_sources "
    "WHERE memory_id IN :ids ORDER BY id").bindparams(bindparam("ids", expanding=True))


def _utc(value: datetime | str | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite gives the naive UTC text that
    ``UTCDateTime`` wrote, PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _record(row: Memory | Row[Any], sources: Iterable[SourceRef] = ()) -> MemoryRecord:
    """A plain view of a memory, from an ORM object or a row of ``_MANY_MEMORIES``; times
    come out as aware UTC either way."""
    (memory_id, org_id, user_id, kind, text, subject, observed_at, valid_from, valid_to,
     importance, pinned, superseded_by, created_at, updated_at) = (
        row if isinstance(row, Row) else _record_values(row))
    return MemoryRecord(
        id=memory_id, org_id=org_id, user_id=user_id, kind=kind, text=text, subject=subject,
        observed_at=_utc(observed_at), valid_from=_utc(valid_from), valid_to=_utc(valid_to),
        importance=importance, pinned=bool(pinned), superseded_by=superseded_by,
        created_at=_utc(created_at), updated_at=_utc(updated_at), sources=tuple(sources))


def _not_found(memory_id: int) -> NotFound:
    return NotFound(f"No memory with id {memory_id} was found for this user.",
                    param="memory_id", code="memory_not_found")


def _sources_of(session: Session, ids: list[int]) -> dict[int, list[SourceRef]]:
    """The provenance of each memory, oldest first."""
    found: dict[int, list[SourceRef]] = {i: [] for i in ids}
    if ids:
        for memory_id, *source in session.execute(_SOURCES_OF, {"ids": ids}):
            found[memory_id].append(SourceRef(*source))
    return found


def _load(session: Session, memory_id: int, owner: Owner) -> Memory:
    row = session.scalar(_owned(select(Memory).where(Memory.id == memory_id), owner))
    if row is None:
        raise _not_found(memory_id)
    return row


def _source_row(memory_id: int, owner: Owner, source: SourceRef) -> dict[str, Any]:
    """A ``memory_sources`` row, as an insert takes it."""
    return {"memory_id": memory_id, "org_id": owner.org_id, "user_id": owner.user_id,
            "message_id": source.message_id, "conversation_id": source.conversation_id,
            "ref": source.ref, "excerpt": source.excerpt}


def _add_sources(session: Session, memory_id: int, owner: Owner,
                 sources: Sequence[SourceRef]) -> None:
    if sources:
        session.connection().execute(insert(MemorySource.__table__),
                                     [_source_row(memory_id, owner, s) for s in sources])


# -- writing ---------------------------------------------------------------------------------


def add_memory(db: Database, owner: Owner, *, kind: str, text: str,
               embedding: Sequence[float] | np.ndarray, observed_at: datetime,
               subject: str | None = None,
               valid_from: datetime | None = None, importance: float = 0.5,
               pinned: bool = False, sources: Iterable[SourceRef] = ()) -> MemoryRecord:
    """Store a memory with its provenance and index it, in one transaction."""
    with db.session() as session:
        return add_memory_in(session, owner, kind=kind, text=text, embedding=embedding,
                             observed_at=observed_at, subject=subject, valid_from=valid_from,
                             importance=importance, pinned=pinned, sources=sources)


def add_memory_in(session: Session, owner: Owner, *, kind: str, text: str,
                  embedding: Sequence[float] | np.ndarray, observed_at: datetime,
                  subject: str | None = None,
                  valid_from: datetime | None = None, importance: float = 0.5,
                  pinned: bool = False, sources: Iterable[SourceRef] = ()) -> MemoryRecord:
    """``add_memory`` inside a caller's transaction (consolidation writes several at once).

    The rows are inserted on the session's connection, past the ORM: consolidation writes
    while it holds the write lock, and the ORM's bookkeeping of an insert took longer than the
    insert itself (0.5 ms against 0.2).
    """
    now = utcnow()
    row = {"org_id": owner.org_id, "user_id": owner.user_id, "kind": kind, "text": text,
           "subject": subject, "observed_at": observed_at, "valid_from": valid_from,
           "valid_to": None, "importance": importance, "pinned": pinned, "superseded_by": None,
           "created_at": now, "updated_at": now}
    table = Memory.__table__
    memory_id = session.connection().execute(insert(table).returning(table.c.id),
                                             row).scalar_one()
    sources = tuple(sources)
    _add_sources(session, memory_id, owner, sources)
    _search_index(session).index_new(session, owner, [IndexEntry(memory_id, text, embedding)])
    vector_sums.update(session, owner, added=[embedding])
    return MemoryRecord(id=memory_id, **row, sources=sources)  # as given: none read back


@dataclass(frozen=True)
class NewMemory:
    kind: str
    text: str
    embedding: np.ndarray
    observed_at: datetime
    importance: float = 0.5
    sources: tuple[SourceRef, ...] = ()


def add_memories_bulk(db: Database, owner: Owner, batch: Sequence[NewMemory]) -> list[int]:
    """Store many memories in one transaction with set-based inserts (imports, benchmarks):
    the same rows and index entries as ``add_memory``, without a round trip per row."""
    if not batch:
        return []
    now = utcnow()
    with db.session() as session:
        # The database numbers the rows (PostgreSQL's sequence must see every id it hands out).
        numbered = insert(Memory).returning(Memory.id, sort_by_parameter_order=True)
        ids = list(session.scalars(numbered, [
            {"org_id": owner.org_id, "user_id": owner.user_id, "kind": m.kind,
             "text": m.text, "subject": None, "observed_at": m.observed_at,
             "valid_from": m.observed_at, "valid_to": None, "importance": m.importance,
             "pinned": False, "created_at": now, "updated_at": now}
            for m in batch]))
        sources = [_source_row(i, owner, s) for i, m in zip(ids, batch) for s in m.sources]
        if sources:
            session.execute(insert(MemorySource), sources)
        _search_index(session).index_new(
            session, owner, [IndexEntry(i, m.text, m.embedding) for i, m in zip(ids, batch)])
        vector_sums.update(session, owner, added=[m.embedding for m in batch])
        return ids


def update_memory(db: Database, owner: Owner, memory_id: int, *, text: str | None = None,
                  embedding: Sequence[float] | np.ndarray | None = None,
                  kind: str | None = None, importance: float | None = None,
                  pinned: bool | None = None, observed_at: datetime | None = None,
                  add_sources: Iterable[SourceRef] = ()) -> MemoryRecord:
    """Change a memory in place; new text must come with its new embedding."""
    with db.session() as session:
        return update_memory_in(session, owner, memory_id, text=text, embedding=embedding,
                                kind=kind, importance=importance, pinned=pinned,
                                observed_at=observed_at, add_sources=add_sources)


def update_memory_in(session: Session, owner: Owner, memory_id: int, *,
                     text: str | None = None,
                     embedding: Sequence[float] | np.ndarray | None = None,
                     kind: str | None = None, importance: float | None = None,
                     pinned: bool | None = None, observed_at: datetime | None = None,
                     add_sources: Iterable[SourceRef] = ()) -> MemoryRecord:
    """``update_memory`` inside a caller's transaction."""
    if text is not None and embedding is None:
        raise ValueError("changed text needs a new embedding")
    row = _load(session, memory_id, owner)
    changes = {"text": text, "kind": kind, "importance": importance, "pinned": pinned,
               "observed_at": observed_at}
    for name, value in changes.items():
        if value is not None:
            setattr(row, name, value)
    row.updated_at = utcnow()
    _add_sources(session, row.id, owner, add_sources)
    if text is not None and embedding is not None:
        _index_again(session, owner, IndexEntry(row.id, text, embedding))
    session.flush()
    return _record(row, _sources_of(session, [row.id])[row.id])


def _index_again(session: Session, owner: Owner, entry: IndexEntry) -> None:
    """Replace an indexed memory's entries, and its vector in the owner's sum."""
    index = _search_index(session)
    vector_sums.update(session, owner, added=[entry.embedding],
                       removed=index.vectors_of(session, [entry.memory_id]))
    index.index(session, owner, entry)


def supersede(session: Session, owner: Owner, memory_id: int, *, by: int,
              valid_to: datetime) -> None:
    """Close a memory that a newer one contradicts; the row stays as history."""
    row = _load(session, memory_id, owner)
    row.valid_to = valid_to
    row.superseded_by = by
    row.updated_at = utcnow()


def delete_memory(db: Database, owner: Owner, memory_id: int) -> None:
    """Forget: remove the memory, its provenance and its index entries for good."""
    with db.session() as session:
        _load(session, memory_id, owner)
        _delete(session, [memory_id])


def delete_all(db: Database, owner: Owner) -> int:
    """Forget everything about one user, queued work included; returns how many memories went.
    """
    with db.session() as session:
        ids = list(session.scalars(_owned(select(Memory.id), owner)))
        _delete(session, ids)
        session.execute(delete(MemoryJob).where(MemoryJob.org_id == owner.org_id,
                                                MemoryJob.user_id == owner.user_id))
        return len(ids)


def delete_recorded_before(db: Database, org_id: str, cutoff: datetime) -> int:
    """Retention: forget every memory of an org recorded before ``cutoff``, queued work too."""
    with db.session() as session:
        ids = list(session.scalars(select(Memory.id).where(Memory.org_id == org_id,
                                                           Memory.created_at < cutoff)))
        _delete(session, ids)
        session.execute(delete(MemoryJob).where(MemoryJob.org_id == org_id,
                                                MemoryJob.created_at < cutoff))
        return len(ids)


def _delete(session: Session, ids: list[int]) -> None:
    if not ids:
        return
    index = _search_index(session)
    # While the rows still name their owners: out of the owners' vector sums, then the indexes.
    owned: dict[Owner, list[int]] = {}
    for memory_id, org_id, user_id in session.execute(
            select(Memory.id, Memory.org_id, Memory.user_id).where(Memory.id.in_(ids))):
        owned.setdefault(Owner(org_id, user_id), []).append(memory_id)
    for owner, its_ids in owned.items():
        vector_sums.update(session, owner, removed=index.vectors_of(session, its_ids))
    index.unindex(session, ids)
    session.execute(delete(MemorySource).where(MemorySource.memory_id.in_(ids)))
    session.execute(delete(Memory).where(Memory.id.in_(ids)))
    session.execute(update(Memory).where(Memory.superseded_by.in_(ids))
                    .values(superseded_by=None))


# -- embedding again --------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexedText:
    """A memory's text as its vector is made from it, with whose it is."""

    owner: Owner
    memory_id: int
    text: str


def count_all(db: Database) -> int:
    """Memories of every owner, superseded ones too: all that the vector index holds."""
    with db.session() as session:
        return session.scalar(select(func.count(Memory.id))) or 0


def texts_after(db: Database, after_id: int, limit: int) -> list[IndexedText]:
    """Every owner's memory texts in id order, ``limit`` of them past ``after_id``, superseded
    ones too: a page of what embedding every memory again goes through."""
    with db.session() as session:
        rows = session.execute(select(Memory.id, Memory.org_id, Memory.user_id, Memory.text)
                               .where(Memory.id > after_id).order_by(Memory.id).limit(limit))
        return [IndexedText(Owner(org_id, user_id), memory_id, text)
                for memory_id, org_id, user_id, text in rows]


def replace_vectors(db: Database, memories: Sequence[IndexedText],
                    vectors: Sequence[np.ndarray]) -> int:
    """Index the memories again with new vectors of their texts, in one transaction; returns
    how many. The rows stay as they are (``updated_at`` too: what they say has not changed).
    A memory edited or forgotten since its text was read is left as that left it."""
    with db.session() as session:
        now = {memory_id: text for memory_id, text in session.execute(
            select(Memory.id, Memory.text).where(Memory.id.in_([m.memory_id for m in memories])))}
        replaced = 0
        for memory, vector in zip(memories, vectors, strict=True):
            if now.get(memory.memory_id) != memory.text:
                continue
            _index_again(session, memory.owner, IndexEntry(memory.memory_id, memory.text, vector))
            replaced += 1
        return replaced


# -- reading ---------------------------------------------------------------------------------


def get_memory(db: Database, owner: Owner, memory_id: int) -> MemoryRecord:
    with db.session() as session:
        row = _load(session, memory_id, owner)
        return _record(row, _sources_of(session, [row.id])[row.id])


def get_many(db: Database, owner: Owner, ids: Sequence[int]) -> list[MemoryRecord]:
    """Memories by id in the order given; ids of other owners are silently absent."""
    if not ids:
        return []
    with db.session() as session:
        return get_many_in(session, owner, ids)


def get_many_in(session: Session, owner: Owner, ids: Sequence[int]) -> list[MemoryRecord]:
    """``get_many`` inside a caller's transaction."""
    if not ids:
        return []
    session.flush()  # plain SQL below does not flush the session's pending changes itself
    parameters = {"ids": list(ids), "org": owner.org_id, "user": owner.user_id}
    rows = {r[0]: r for r in session.execute(_MANY_MEMORIES, parameters)}
    sources = _sources_of(session, list(rows))
    return [_record(rows[i], sources[i]) for i in ids if i in rows]


def list_memories(db: Database, owner: Owner, *, include_superseded: bool = False,
                  kind: str | None = None, limit: int = 100, offset: int = 0) -> list[MemoryRecord]:
    """Newest first (by when it happened)."""
    with db.session() as session:
        query = _owned(select(Memory), owner)
        if not include_superseded:
            query = query.where(Memory.valid_to.is_(None))
        if kind is not None:
            query = query.where(Memory.kind == kind)
        rows = list(session.scalars(query.order_by(Memory.observed_at.desc(), Memory.id.desc())
                                    .limit(limit).offset(offset)))
        sources = _sources_of(session, [r.id for r in rows])
        return [_record(r, sources[r.id]) for r in rows]


def current_with_subject(session: Session, owner: Owner, subject: str) -> list[Memory]:
    """Current memories about one single-valued subject (where contradictions show)."""
    return list(session.scalars(_owned(select(Memory), owner).where(
        Memory.subject == subject, Memory.valid_to.is_(None))))


def profile_memories(db: Database, owner: Owner, *, limit: int = 12) -> list[MemoryRecord]:
    """What a compact "about this user" section shows: pinned and keyed facts first,
    then the most important profile, relationship and preference memories."""
    with db.session() as session:
        query = _owned(select(Memory), owner).where(
            Memory.valid_to.is_(None),
            Memory.pinned.is_(True) | Memory.subject.is_not(None)
            | Memory.kind.in_(("profile", "relationship", "preference", "instruction")),
        ).order_by(Memory.pinned.desc(), Memory.subject.is_(None), Memory.importance.desc(),
                   Memory.observed_at.desc()).limit(limit)
        rows = list(session.scalars(query))
        sources = _sources_of(session, [r.id for r in rows])
        return [_record(r, sources[r.id]) for r in rows]


def count_memories(db: Database, owner: Owner) -> int:
    with db.session() as session:
        return session.scalar(_owned(select(func.count(Memory.id)), owner)
                              .where(Memory.valid_to.is_(None))) or 0


def _has_at_least(session: Session, owner: Owner, count: int) -> bool:
    """Whether the owner has ``count`` memories or more, reading no more index entries."""
    # Unordered, so that the database stops in the owner's index at the count-th entry.
    nth = _owned(select(Memory.id), owner).offset(count - 1).limit(1)
    return session.scalar(nth) is not None


def fulltext_search(db: Database, owner: Owner, question: str, *, limit: int = 50,
                    include_superseded: bool = False) -> list[tuple[int, float]]:
    """(memory id, score; higher is better) for the owner's memories with any of the
    question's words (stop words left out from ``STOP_WORDS_FROM`` memories on), best first.
    Scores rank hits of one search: bm25 on SQLite, ts_rank_cd on PostgreSQL, so compare them
    only with each other."""
    with db.session() as session:
        words = question_words(question,
                               drop_stop_words=_has_at_least(session, owner, STOP_WORDS_FROM))
        if not words:
            return []
        hits = _search_index(session).fulltext(session, owner, words, limit)
        if include_superseded or not hits:
            return hits
        current = set(session.scalars(_owned(select(Memory.id), owner).where(
            Memory.id.in_([i for i, _ in hits]), Memory.valid_to.is_(None))))
        return [(i, s) for i, s in hits if i in current]


def vector_search(db: Database, owner: Owner, embedding: Sequence[float] | np.ndarray, *,
                  limit: int = 50) -> list[tuple[int, float]]:
    """(memory id, cosine similarity) of the owner's nearest memories, best first.

    Superseded memories are indexed too (history stays searchable); callers filter.
    """
    with db.session() as session:
        return _search_index(session).nearest(session, owner, embedding, limit,
                                              committed_only=True)


def mean_vector(db: Database, owner: Owner) -> np.ndarray | None:
    """The mean of the owner's memory vectors (superseded ones too); None when they have none."""
    with db.session() as session:
        return vector_sums.mean(session, owner)


def vector_search_in(session: Session, owner: Owner, embedding: Sequence[float] | np.ndarray,
                     *, limit: int = 50, compared: int | None = None) -> list[tuple[int, float]]:
    """``vector_search`` inside a caller's transaction (consolidation sees its own writes).
    ``compared``: candidates an approximate index compares exactly (see ``SearchIndex``)."""
    return _search_index(session).nearest(session, owner, embedding, limit, compared)
