"""Memory search on PostgreSQL: a tsvector column on ``memories`` and a pgvector side table.

Migration 0002 makes ``memories.text_search`` a generated column (GIN-indexed as
``memories_fts``), so PostgreSQL keeps the words in step with the text by itself, and
``memories_vec`` holds one ``vector(384)`` per memory with ``ON DELETE CASCADE``, so deleting
a memory deletes its vector. Only vectors are written here.

Vector search is exact: a btree on (org_id, user_id) finds the owner's rows and PostgreSQL
sorts them by cosine distance. An approximate index (HNSW, IVFFlat) over all owners would
have to be filtered to one owner after the search, which can return fewer hits than asked
for; one user's memories are few enough to compare with every one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from hearth.store.owner import Owner
from hearth.store.search import Embedding, IndexEntry

# The text search configuration of the generated column in migration 0002; English stemming
# and stop words, as close as PostgreSQL comes to the porter tokenizer of the SQLite index.
TEXT_SEARCH_CONFIG = "english"

_UPSERT_VECTOR = sql(
    "INSERT INTO memories_vec(memory_id, org_id, user_id, embedding) "
    "VALUES (:id, :org_id, :user_id, :embedding) "
    "ON CONFLICT (memory_id) DO UPDATE SET embedding = excluded.embedding"
).bindparams(bindparam("embedding", type_=Vector()))


def _vector_rows(owner: Owner, entries: Sequence[IndexEntry]) -> list[dict[str, object]]:
    return [{"id": e.memory_id, "org_id": owner.org_id, "user_id": owner.user_id,
             "embedding": np.asarray(e.embedding, dtype=np.float32)} for e in entries]


def index(session: Session, owner: Owner, entry: IndexEntry) -> None:
    session.execute(_UPSERT_VECTOR, _vector_rows(owner, [entry])[0])


def index_new(session: Session, owner: Owner, entries: Sequence[IndexEntry]) -> None:
    if entries:
        session.execute(_UPSERT_VECTOR, _vector_rows(owner, entries))


def unindex(session: Session, ids: list[int]) -> None:
    """Nothing to do: deleting the memory rows took their words and vectors with them."""


_VECTORS_OF = sql("SELECT embedding FROM memories_vec WHERE memory_id = ANY(:ids)").columns(
    embedding=Vector())


def vectors_of(session: Session, ids: Sequence[int]) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float32)
            for v in session.scalars(_VECTORS_OF, {"ids": list(ids)})]


def fulltext(session: Session, owner: Owner, words: list[str],
             limit: int) -> list[tuple[int, float]]:
    # Any of the words, like the SQLite index's OR query; the words are letters and digits
    # only, so joining them with "|" cannot form other tsquery syntax. Stop words drop out.
    query = sql(
        "SELECT id, ts_rank_cd(text_search, query) AS score "
        f"FROM memories, to_tsquery('{TEXT_SEARCH_CONFIG}', :words) AS query "
        "WHERE org_id = :org_id AND user_id = :user_id AND text_search @@ query "
        "ORDER BY score DESC, id LIMIT :limit"
    )
    rows = session.execute(query, {"words": " | ".join(words), "org_id": owner.org_id,
                                   "user_id": owner.user_id, "limit": limit})
    return [(int(i), float(s)) for i, s in rows]


def nearest(session: Session, owner: Owner, embedding: Embedding, limit: int,
            compared: int | None = None, *, committed_only: bool = False,
            ) -> list[tuple[int, float]]:
    query = sql(
        "SELECT memory_id, embedding <=> :embedding AS distance FROM memories_vec "
        "WHERE org_id = :org_id AND user_id = :user_id ORDER BY distance LIMIT :limit"
    ).bindparams(bindparam("embedding", type_=Vector()))
    rows = session.execute(query, {"embedding": np.asarray(embedding, dtype=np.float32),
                                   "org_id": owner.org_id, "user_id": owner.user_id,
                                   "limit": limit})
    return [(int(i), 1.0 - float(d)) for i, d in rows]
