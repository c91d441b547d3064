"""Memories, their provenance, the memory job queue, and the search indexes.

Revision ID: 0002
Revises: 0001

The tables are portable; the search indexes are not, and ``SEARCH_INDEXES`` holds them for
each database:

- SQLite: the full-text index is an FTS5 table and the vector index a sqlite-vec ``vec0``
  table partitioned by owner (org and user), both keyed by the memory id.
- PostgreSQL: the full-text index is a generated tsvector column on ``memories`` with a GIN
  index, and the vectors a pgvector side table that a memory's delete cascades to, with a
  btree on the owner so that one owner's vectors are searched exactly (see
  ``hearth.store.search_postgres``). The ``vector`` extension must be available on the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
EMBEDDING_DIMENSIONS = 384


# Not a dataclass: Alembic loads this file outside sys.modules, where dataclasses break.
class SearchIndexes(NamedTuple):
    create: tuple[str, ...]
    drop: tuple[str, ...]


SEARCH_INDEXES = {
    "sqlite": SearchIndexes(
        create=(
            # ``owner`` holds one token per owner, so a MATCH on it narrows the search inside
            # the index; it carries no weight in the ranking.
            ("CREATE VIRTUAL TABLE memories_fts USING fts5(text, owner, "
             "tokenize='porter unicode61')"),
            "INSERT INTO memories_fts(memories_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)')",
            ("CREATE VIRTUAL TABLE memories_vec USING vec0(memory_id integer primary key, "
             f"owner text partition key, embedding float[{EMBEDDING_DIMENSIONS}] "
             "distance_metric=cosine)"),
        ),
        drop=("DROP TABLE memories_vec", "DROP TABLE memories_fts"),
    ),
    "postgresql": SearchIndexes(
        create=(
            "CREATE EXTENSION IF NOT EXISTS vector",
            # English stemming, as close as PostgreSQL comes to FTS5's porter tokenizer.
            ("ALTER TABLE memories ADD COLUMN text_search tsvector "
             "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"),
            "CREATE INDEX memories_fts ON memories USING gin (text_search)",
            ("CREATE TABLE memories_vec ("
             "memory_id BIGINT NOT NULL, "
             "org_id VARCHAR(64) NOT NULL, "
             "user_id VARCHAR(64) NOT NULL, "
             f"embedding vector({EMBEDDING_DIMENSIONS}) NOT NULL, "
             "CONSTRAINT pk_memories_vec PRIMARY KEY (memory_id), "
             "CONSTRAINT fk_memories_vec_memory_id_memories FOREIGN KEY (memory_id) "
             "REFERENCES memories (id) ON DELETE CASCADE)"),
            "CREATE INDEX memories_vec_owner ON memories_vec (org_id, user_id)",
        ),
        # The column and its index go with the memories table. The extension stays: other
        # objects in the database may use it.
        drop=("DROP TABLE memories_vec",),
    ),
}


def _search_indexes() -> SearchIndexes:
    """The one part of this migration that differs by database."""
    dialect = op.get_context().dialect.name
    if dialect not in SEARCH_INDEXES:
        raise NotImplementedError(f"hearth keeps memories in SQLite or PostgreSQL, not {dialect}")
    return SEARCH_INDEXES[dialect]


def upgrade() -> None:
    op.create_table(
        "memories",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("observed_at", WHEN, nullable=False),
        sa.Column("valid_from", WHEN, nullable=True),
        sa.Column("valid_to", WHEN, nullable=True),
        sa.Column("importance", sa.Float(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("superseded_by", BIG_ID, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_memories"),
    )
    op.create_index("ix_memories_org_id_user_id_valid_to", "memories",
                    ["org_id", "user_id", "valid_to"])
    op.create_index("ix_memories_org_id_user_id_observed_at", "memories",
                    ["org_id", "user_id", "observed_at"])
    op.create_table(
        "memory_sources",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("memory_id", BIG_ID, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("conversation_id", sa.String(64), nullable=True),
        sa.Column("ref", sa.String(128), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["memory_id"], ["memories.id"], ondelete="CASCADE",
                                name="fk_memory_sources_memory_id_memories"),
        sa.PrimaryKeyConstraint("id", name="pk_memory_sources"),
    )
    op.create_index("ix_memory_sources_memory_id", "memory_sources", ["memory_id"])
    op.create_table(
        "memory_jobs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_memory_jobs"),
    )
    op.create_index("ix_memory_jobs_status_id", "memory_jobs", ["status", "id"])
    for statement in _search_indexes().create:
        op.execute(statement)


def downgrade() -> None:
    for statement in _search_indexes().drop:
        op.execute(statement)
    op.drop_table("memory_jobs")
    op.drop_table("memory_sources")
    op.drop_table("memories")
