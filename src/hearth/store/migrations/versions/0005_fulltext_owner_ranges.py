"""SQLite's full-text index of memories: each owner's entries in a rowid range of their own.

Revision ID: 0005
Revises: 0004

Until now an owner was a token in the FTS5 table, and a search ANDed it with the question's
words: FTS5 then read the owner token's whole posting list (one entry per memory of the
owner: 100,000 entries at 100,000 memories) on every search. Now every owner has a number
(``memory_owners``), and a memory's full-text entry has the rowid ``number << 32 | memory
id``, so a search names the owner's rowid range and FTS5 seeks straight to it in each word's
posting list (``hearth.store.search_sqlite``). The owner column goes. PostgreSQL's index is
unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER_BITS = 32  # hearth.store.search_sqlite.OWNER_BITS

RANGES = (
    ("CREATE TABLE memory_owners (number INTEGER PRIMARY KEY, org_id VARCHAR(64) NOT NULL, "
     "user_id VARCHAR(64) NOT NULL, CONSTRAINT uq_memory_owners UNIQUE (org_id, user_id))"),
    ("INSERT INTO memory_owners (org_id, user_id) "
     "SELECT DISTINCT org_id, user_id FROM memories ORDER BY org_id, user_id"),
    "DROP TABLE memories_fts",
    "CREATE VIRTUAL TABLE memories_fts USING fts5(text, tokenize='porter unicode61')",
    (f"INSERT INTO memories_fts(rowid, text) SELECT (o.number << {OWNER_BITS}) | m.id, m.text "
     "FROM memories m JOIN memory_owners o ON o.org_id = m.org_id AND o.user_id = m.user_id "
     "ORDER BY 1"),
)
TOKENS = (  # as migration 0002 made it: the owner as one token (``owner_token``)
    "DROP TABLE memories_fts",
    ("CREATE VIRTUAL TABLE memories_fts USING fts5(text, owner, "
     "tokenize='porter unicode61')"),
    "INSERT INTO memories_fts(memories_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)')",
    "DROP TABLE memory_owners",
)


def owner_token(org_id: str, user_id: str) -> str:
    """The owner as one full-text token (letters and digits only), as 0002 to 0004 wrote it."""
    return "o" + hashlib.sha256(f"{org_id}\x1f{user_id}".encode()).hexdigest()[:24]


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for statement in RANGES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    connection = op.get_bind()
    rows = connection.exec_driver_sql("SELECT id, text, org_id, user_id FROM memories").all()
    for statement in TOKENS:
        op.execute(statement)
    if rows:
        connection.exec_driver_sql(
            "INSERT INTO memories_fts(rowid, text, owner) VALUES (?, ?, ?)",
            [(i, text, owner_token(org, user)) for i, text, org, user in rows])
