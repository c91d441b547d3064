"""Each owner's memory vectors added up (``hearth.store.vector_sums``).

Revision ID: 0006
Revises: 0005

Recall takes part of an owner's mean memory vector out of each question's vector; the sums
make that mean one row away. Existing vectors are added up here, so an upgraded database
recalls as a new one does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = 384  # hearth.store.vector_sums.DIMENSIONS


def _vector(value: bytes | str) -> np.ndarray:
    """A stored vector: float32 bytes in sqlite-vec, '[0.1,...]' text from pgvector."""
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(value, dtype=np.float32)
    return np.array(value.strip("[]").split(","), dtype=np.float64)


def upgrade() -> None:
    sums = op.create_table(
        "memory_vector_sums",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("total", sa.LargeBinary(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "user_id", name="pk_memory_vector_sums"),
    )
    if op.get_context().as_sql:
        # SQL written out for a DBA cannot add up vectors: such a database counts only the
        # vectors written after it, whose mean stands in for all of them.
        return
    totals: dict[tuple[str, str], np.ndarray] = {}
    counts: dict[tuple[str, str], int] = {}
    rows = op.get_bind().execute(sa.text(
        "SELECT m.org_id, m.user_id, v.embedding FROM memories m "
        "JOIN memories_vec v ON v.memory_id = m.id"))
    for org_id, user_id, embedding in rows:
        owner = (org_id, user_id)
        totals[owner] = totals.get(owner, np.zeros(DIMENSIONS)) + _vector(embedding)
        counts[owner] = counts.get(owner, 0) + 1
    if totals:
        op.bulk_insert(sums, [{"org_id": org_id, "user_id": user_id,
                               "total": total.tobytes(), "count": counts[(org_id, user_id)]}
                              for (org_id, user_id), total in totals.items()])


def downgrade() -> None:
    op.drop_table("memory_vector_sums")
