"""Memory search on SQLite: an FTS5 table and a sqlite-vec ``vec0`` table beside ``memories``.

Both are virtual tables that the row's own writes cannot reach, so every write to a memory's
text writes them too (migrations 0002, 0004 and 0005 create them). Each index keeps an owner's
entries together, so a search narrows to one owner inside the index rather than after it.

Full text: every owner has a number (``memory_owners``), and a memory's entry has the rowid
``number << OWNER_BITS | memory id``; a search names the owner's rowid range, and FTS5 seeks
to it in each word's posting list. Ranking is what costs (about 2 µs per memory that has any
of the words, where finding them costs a tenth of that), so for an owner with many memories a
search ranks the memories of its rarer words only (``RANKED_MAX``).

The vector index holds each vector twice: as sign bits (one per dimension), which a search
compares by Hamming distance to pick candidates 32 times faster than comparing floats, and as
floats, from which the candidates are ranked by exact cosine similarity. The bits only decide
which memories are compared exactly. An owner with about ``PREFILTER`` memories or fewer
(none of its shards holding more than its share of candidates) is searched exactly; at
100,000 memories per owner, the top 10 of a search for 60 agree with an exact search on 97.8%
of memories, the whole 60 on 88% (the scale benchmark's synthetic memories).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sqlalchemy import Engine, TextClause, bindparam
from sqlalchemy import text as sql
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from hearth.store.owner import Owner
from hearth.store.search import Embedding, IndexEntry

# Memory ids stay below 2**OWNER_BITS (four billion) for their rowids to stay in range.
OWNER_BITS = 32
_ID_MASK = (1 << OWNER_BITS) - 1

_OWNER_NUMBER = sql("SELECT number FROM memory_owners WHERE org_id = :org AND user_id = :user")
_NEW_OWNER = sql("INSERT INTO memory_owners (org_id, user_id) VALUES (:org, :user) "
                 "ON CONFLICT DO NOTHING")
_INSERT_TEXT = sql("INSERT INTO memories_fts(rowid, text) VALUES (:rowid, :text)")
_ROWIDS_OF = sql(f"SELECT (o.number << {OWNER_BITS}) | m.id FROM memories m "
                 "JOIN memory_owners o ON o.org_id = m.org_id AND o.user_id = m.user_id "
                 "WHERE m.id IN :ids").bindparams(bindparam("ids", expanding=True))
_DELETE_TEXT = sql("DELETE FROM memories_fts WHERE rowid = :rowid")
_INSERT_VECTOR = sql("INSERT INTO memories_vec(memory_id, owner, shard, bits, embedding) "
                     "VALUES (:id, :owner, :shard, vec_quantize_binary(:embedding), :embedding)")
_DELETE_VECTOR = sql("DELETE FROM memories_vec WHERE memory_id = :id")


# An owner's vectors lie in SHARDS partitions (memory id modulo SHARDS; migration 0004 holds
# the same number). sqlite-vec picks the k nearest of n vectors in time proportional to k * n,
# so PREFILTER candidates cost a fraction of that when each shard gives PREFILTER / SHARDS.
SHARDS = 8
PREFILTER = 400  # candidates rescored; at least RESCORED_PER_RESULT per result asked for
RESCORED_PER_RESULT = 4


def _sign_bit_search(shard: int | None) -> str:
    """The ``:k`` nearest by sign bits among the owner's vectors (one shard's, or all), each
    with its cosine distance computed from the floats.

    The search computes its candidates' distances itself: gathered first (a ``WITH``) and
    compared after, their floats were copied once more (a search for a duplicate among 1,159
    memories: 1.08 ms, against 0.75).
    """
    in_shard = "" if shard is None else f" AND shard = {shard}"
    return ("SELECT memory_id, vec_distance_cosine(embedding, :e) AS distance FROM memories_vec "
            f"WHERE bits MATCH vec_quantize_binary(:e) AND k = :k AND owner = :o{in_shard}")


def _candidates_query(shards: range) -> str:
    """Nearest by sign bits in every shard, then ranked by cosine distance of the floats."""
    coarse = " UNION ALL ".join(_sign_bit_search(shard) for shard in shards)
    return f"SELECT memory_id, distance FROM ({coarse}) ORDER BY distance LIMIT :limit"


_NEAREST = sql(_candidates_query(range(SHARDS)))
# A search for a few candidates (a duplicate check) asks the owner's shards as one: a query per
# shard costs about 0.13 ms of its own, more than searching an eighth of the vectors saves. Eight
# candidates: 0.82 ms against 1.1-1.6 across the shards at 1,159 memories, 6.4 against 8-11 at
# 100,000; a near twin (cosine 0.94) was among them in 100 searches of 100 at both sizes.
_NEAREST_FEW = sql(f"{_sign_bit_search(None)} ORDER BY distance LIMIT :limit")
# A search that may read through a connection of its own searches half the shards in another
# thread: SQLite lets go of the GIL, so on two cores the two halves cost about one (recall at
# 100,000 memories per owner: p50 45.7 to 40.6 ms).
_NEAREST_HALVES = (sql(_candidates_query(range(SHARDS // 2))),
                   sql(_candidates_query(range(SHARDS // 2, SHARDS))))
_OTHER_HALVES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hearth-vector")


def _vector_blob(embedding: Embedding) -> bytes:
    return np.asarray(embedding, dtype=np.float32).tobytes()


def _owner_number(session: Session, owner: Owner, *, create: bool = False) -> int | None:
    """The owner's number in the full-text index; a new one is given on first write.

    A number once known is kept in the session: consolidating a message writes several
    memories, and each asked again (0.16 ms each on the LoCoMo dev set). A number never changes
    (its row stays when the owner's memories go), and a session is one transaction
    (``Database.session``), so a number given in it goes with it if that transaction rolls back.
    """
    known: dict[str, int] = session.info.setdefault("hearth_owner_numbers", {})
    if owner.key not in known:
        names = {"org": owner.org_id, "user": owner.user_id}
        number = session.scalar(_OWNER_NUMBER, names)
        if number is None and create:
            session.execute(_NEW_OWNER, names)
            number = session.scalar(_OWNER_NUMBER, names)
        if number is None:
            return None
        known[owner.key] = number
    return known[owner.key]


def _rowid(number: int, memory_id: int) -> int:
    return number << OWNER_BITS | memory_id


def index(session: Session, owner: Owner, entry: IndexEntry) -> None:
    number = _owner_number(session, owner, create=True)
    session.execute(_DELETE_TEXT, {"rowid": _rowid(number, entry.memory_id)})
    session.execute(_DELETE_VECTOR, {"id": entry.memory_id})
    index_new(session, owner, [entry])


def index_new(session: Session, owner: Owner, entries: Sequence[IndexEntry]) -> None:
    if not entries:
        return
    number = _owner_number(session, owner, create=True)
    session.execute(_INSERT_TEXT, [{"rowid": _rowid(number, e.memory_id), "text": e.text}
                                   for e in entries])
    session.execute(_INSERT_VECTOR, [{"id": e.memory_id, "owner": owner.key,
                                      "shard": e.memory_id % SHARDS,
                                      "embedding": _vector_blob(e.embedding)} for e in entries])


def unindex(session: Session, ids: list[int]) -> None:
    """Called before the memory rows go: their owners give the full-text rowids."""
    rowids = list(session.scalars(_ROWIDS_OF, {"ids": ids}))
    if rowids:
        session.execute(_DELETE_TEXT, [{"rowid": r} for r in rowids])
    session.execute(_DELETE_VECTOR, [{"id": i} for i in ids])
    # Merge the FTS segments so no trace of the removed words stays in the index.
    session.execute(sql("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')"))


def _any_of(words: Sequence[str]) -> str:
    """An FTS5 query for any of the words, each quoted so that no word is read as syntax."""
    return " OR ".join(f'"{w}"' for w in words)


# Memories a search ranks at most, counted per word (a memory with two of the words counts
# twice). A word found in a large share of the owner's memories says little about which of
# them answer (its bm25 weight is near zero) and costs the most to rank, so the rarest words
# are searched and the commonest left out; a question with only such words is left to the
# vector search. Only owners with thousands of memories are affected. Recall at 100,000
# memories per owner (full text beside the vector search on two cores) took p50 35.7 /
# p95 47.2 ms with 10,000 here, its full-text search p95 38.4 ms; with 5,000, 34.0 / 41.2
# and 25.4.
RANKED_MAX = 5_000


# Words counted per statement, a result column each: a pasted document can bring thousands of
# words, and SQLite allows 2,000 columns in a result.
COUNTED_PER_STATEMENT = 200


def _counts(session: Session, words: list[str], low: int, high: int) -> list[int]:
    """The owner's memories with each word, counted up to ``RANKED_MAX`` + 1."""
    found: list[int] = []
    for start in range(0, len(words), COUNTED_PER_STATEMENT):
        chunk = words[start:start + COUNTED_PER_STATEMENT]
        counts = ", ".join(
            f"(SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH :w{i} "
            "AND rowid BETWEEN :low AND :high LIMIT :cap))" for i in range(len(chunk)))
        found += session.execute(sql(f"SELECT {counts}"), {
            "low": low, "high": high, "cap": RANKED_MAX + 1,
            **{f"w{i}": _any_of([w]) for i, w in enumerate(chunk)}}).one()
    return found


def _affordable(session: Session, words: list[str], low: int, high: int) -> list[str]:
    """The rarest of the words whose memories sum to ``RANKED_MAX`` at most."""
    kept, ranked = [], 0
    for found, word in sorted(zip(_counts(session, words, low, high), words, strict=True)):
        if found and ranked + found <= RANKED_MAX:
            kept.append(word)
            ranked += found
    return kept


_FULLTEXT = sql("SELECT rowid, -bm25(memories_fts) AS score FROM memories_fts "
                "WHERE memories_fts MATCH :match AND rowid BETWEEN :low AND :high "
                "ORDER BY score DESC LIMIT :limit")


def fulltext(session: Session, owner: Owner, words: list[str],
             limit: int) -> list[tuple[int, float]]:
    number = _owner_number(session, owner)
    if number is None:
        return []
    low, high = _rowid(number, 0), _rowid(number, _ID_MASK)
    words = _affordable(session, words, low, high)
    if not words:
        return []
    # bm25 is lower for better matches, so its negation is the score.
    rows = session.execute(_FULLTEXT, {"match": _any_of(words), "low": low, "high": high,
                                       "limit": limit})
    return [(int(rowid) & _ID_MASK, float(score)) for rowid, score in rows]


_VECTORS_OF = sql("SELECT embedding FROM memories_vec WHERE memory_id IN :ids").bindparams(
    bindparam("ids", expanding=True))
_IDS_PER_READ = 500  # well below SQLite's limit on a statement's parameters


def vectors_of(session: Session, ids: Sequence[int]) -> list[np.ndarray]:
    chunks = (list(ids[start:start + _IDS_PER_READ]) for start in range(0, len(ids), _IDS_PER_READ))
    return [np.frombuffer(blob, dtype=np.float32)
            for chunk in chunks for (blob,) in session.execute(_VECTORS_OF, {"ids": chunk})]


def _read(engine: Engine, statement: TextClause, parameters: dict[str, Any]) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(statement, parameters))


def nearest(session: Session, owner: Owner, embedding: Embedding, limit: int,
            compared: int | None = None, *, committed_only: bool = False,
            ) -> list[tuple[int, float]]:
    wanted = max(compared if compared is not None else PREFILTER, RESCORED_PER_RESULT * limit)
    few = wanted <= SHARDS
    parameters = {"e": _vector_blob(embedding), "o": owner.key, "limit": limit,
                  "k": wanted if few else math.ceil(wanted / SHARDS)}  # per shard searched
    engine = session.get_bind()
    if few:
        rows = list(session.execute(_NEAREST_FEW, parameters))
    # An in-memory database has one connection, which two threads must not share.
    elif not committed_only or isinstance(engine.pool, StaticPool):
        rows = list(session.execute(_NEAREST, parameters))
    else:
        first, second = _NEAREST_HALVES
        other = _OTHER_HALVES.submit(_read, engine, second, parameters)
        mine = list(session.execute(first, parameters))
        rows = list(heapq.merge(mine, other.result(), key=lambda row: row[1]))[:limit]
    return [(int(i), 1.0 - float(d)) for i, d in rows]
