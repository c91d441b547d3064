"""Web sessions, and the memories each reply was given.

Revision ID: 0011
Revises: 0010

``web_sessions``: a browser signed in with an API key holds a random session id in a cookie;
only its SHA-256 is stored, so a copy of the table cannot sign anyone in. ``messages.memory_ids``
lists the memories that went into the prompt of an assistant message, so a person can see
what a reply was told about them (ids of memories forgotten since simply match nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_org_id_user_id", "web_sessions", ["org_id", "user_id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("memory_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("memory_ids")
    op.drop_index("ix_web_sessions_org_id_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
