"""Stored Responses API answers.

Revision ID: 0008
Revises: 0007

One row per stored response, scoped by org and user like a conversation, and purged by the
org's conversation retention (its ``created_at`` index serves that purge).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("input_items", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_responses"),
    )
    op.create_index("ix_responses_org_id_created_at", "responses", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_responses_org_id_created_at", table_name="responses")
    op.drop_table("responses")
