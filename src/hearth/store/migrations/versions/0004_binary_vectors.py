"""SQLite's vector index of memories: sign bits to search, float vectors to rescore, in shards.

Revision ID: 0004
Revises: 0003

A search of the float ``vec0`` table of 0002 compares all 384 floats of every one of the
owner's vectors (100 ms at 100,000 memories). The new ``memories_vec`` keeps one sign bit per
dimension (48 bytes) as the indexed column, found by Hamming distance, and the float vector
beside it (an auxiliary column, not indexed) for exact cosine rescoring of the candidates
(``hearth.store.search_sqlite.nearest``). Each owner's vectors are split into ``SHARDS``
partitions by memory id, because sqlite-vec's cost of a search grows with the number of
neighbours asked for times the vectors searched: asking each shard for an eighth of the
candidates costs an eighth as much.

Existing vectors are copied over (through a temporary table: a ``vec0`` table cannot be
renamed), so every memory stays searchable. PostgreSQL's pgvector index is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMBEDDING_DIMENSIONS = 384
SHARDS = 8  # hearth.store.search_sqlite.SHARDS: memory id modulo this is a vector's shard

_SAVE = "CREATE TEMP TABLE memories_vec_saved AS SELECT memory_id, owner, embedding FROM memories_vec"
_FORGET_SAVED = "DROP TABLE temp.memories_vec_saved"

BINARY = (
    ("CREATE VIRTUAL TABLE memories_vec USING vec0(memory_id integer primary key, "
     "owner text partition key, shard integer partition key, "
     f"bits bit[{EMBEDDING_DIMENSIONS}], +embedding blob)"),
    ("INSERT INTO memories_vec(memory_id, owner, shard, bits, embedding) "
     f"SELECT memory_id, owner, memory_id % {SHARDS}, vec_quantize_binary(embedding), embedding "
     "FROM temp.memories_vec_saved"),
)
FLOAT = (  # as migration 0002 made it
    ("CREATE VIRTUAL TABLE memories_vec USING vec0(memory_id integer primary key, "
     f"owner text partition key, embedding float[{EMBEDDING_DIMENSIONS}] "
     "distance_metric=cosine)"),
    ("INSERT INTO memories_vec(memory_id, owner, embedding) "
     "SELECT memory_id, owner, embedding FROM temp.memories_vec_saved"),
)


def _rebuild(create: tuple[str, ...]) -> None:
    """Replace SQLite's ``memories_vec`` with the table ``create`` makes, vectors kept."""
    if op.get_context().dialect.name != "sqlite":
        return
    op.execute(_SAVE)
    op.execute("DROP TABLE memories_vec")
    for statement in create:
        op.execute(statement)
    op.execute(_FORGET_SAVED)


def upgrade() -> None:
    _rebuild(BINARY)


def downgrade() -> None:
    _rebuild(FLOAT)
