"""Memory search on SQLite: an FTS5 table and a sqlite-vec ``vec0`` table beside ``memories``.

Both are virtual tables that the row's own writes cannot reach, so every write to a memory's
text writes them too, keyed by the memory id (migration 0002 creates them). The owner is part
of both indexes, so a search narrows to one owner inside the index rather than after it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from hearth.store.owner import Owner
from hearth.store.search import Embedding, IndexEntry

_INSERT_TEXT = sql("INSERT INTO memories_fts(rowid, text, owner) VALUES (:id, :text, :owner)")
_INSERT_VECTOR = sql("INSERT INTO memories_vec(memory_id, owner, embedding) "
                     "VALUES (:id, :owner, :embedding)")
_DELETE_TEXT = sql("DELETE FROM memories_fts WHERE rowid = :id")
_DELETE_VECTOR = sql("DELETE FROM memories_vec WHERE memory_id = :id")


def _vector_blob(embedding: Embedding) -> bytes:
    return np.asarray(embedding, dtype=np.float32).tobytes()


def _remove(session: Session, memory_id: int) -> None:
    session.execute(_DELETE_TEXT, {"id": memory_id})
    session.execute(_DELETE_VECTOR, {"id": memory_id})


def index(session: Session, owner: Owner, entry: IndexEntry) -> None:
    _remove(session, entry.memory_id)
    index_new(session, owner, [entry])


def index_new(session: Session, owner: Owner, entries: Sequence[IndexEntry]) -> None:
    if not entries:
        return
    session.execute(_INSERT_TEXT, [{"id": e.memory_id, "text": e.text, "owner": owner.token}
                                   for e in entries])
    session.execute(_INSERT_VECTOR, [{"id": e.memory_id, "owner": owner.key,
                                      "embedding": _vector_blob(e.embedding)} for e in entries])


def unindex(session: Session, ids: list[int]) -> None:
    for memory_id in ids:
        _remove(session, memory_id)
    # Merge the FTS segments so no trace of the removed words stays in the index.
    session.execute(sql("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')"))


def fts_query(words: list[str], owner: Owner) -> str:
    """An FTS5 query: the owner's token AND any of the words, each quoted so that no word is
    read as syntax."""
    anyword = " OR ".join(f'"{w}"' for w in words)
    return f"owner:{owner.token} AND text:({anyword})"


def fulltext(session: Session, owner: Owner, words: list[str],
             limit: int) -> list[tuple[int, float]]:
    # bm25 (``rank``) is lower for better matches; the index weighs the text column alone.
    query = sql("SELECT rowid, -rank FROM memories_fts WHERE memories_fts MATCH :match "
                "ORDER BY rank LIMIT :limit")
    rows = session.execute(query, {"match": fts_query(words, owner), "limit": limit})
    return [(int(i), float(s)) for i, s in rows]


def nearest(session: Session, owner: Owner, embedding: Embedding,
            limit: int) -> list[tuple[int, float]]:
    query = sql("SELECT memory_id, distance FROM memories_vec WHERE embedding MATCH :e "
                "AND k = :k AND owner = :o ORDER BY distance")
    rows = session.execute(query, {"e": _vector_blob(embedding), "k": limit, "o": owner.key})
    return [(int(i), 1.0 - float(d)) for i, d in rows]
