"""User passwords, and web sessions opened with one.

Revision ID: 0012
Revises: 0011

``users.password_hash``: where an org sets one, a person may sign in to the web app with
their user name and password (a salted scrypt hash; NULL: no password, keys only).
``web_sessions.key_id`` becomes nullable: a session opened with a password acts with the
user's role, not through a key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(256), nullable=True))
    with op.batch_alter_table("web_sessions") as batch:
        batch.alter_column("key_id", existing_type=sa.String(32), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM web_sessions WHERE key_id IS NULL")
    with op.batch_alter_table("web_sessions") as batch:
        batch.alter_column("key_id", existing_type=sa.String(32), nullable=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
