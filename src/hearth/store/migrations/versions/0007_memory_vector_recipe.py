"""Which embedder recipe made the stored memory vectors (``hearth.store.vector_recipe``).

Revision ID: 0007
Revises: 0006

Empty at first: a database upgraded from an earlier hearth has vectors whose recipe nobody
wrote down, and says so until ``hearth memory reembed`` records one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "memory_vector_recipe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipe", sa.String(512), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_memory_vector_recipe"),
        sa.CheckConstraint("id = 1", name="ck_memory_vector_recipe_one_row"),
    )


def downgrade() -> None:
    op.drop_table("memory_vector_recipe")
