"""Each conversation numbers its own messages: ``conversations.next_position``.

Revision ID: 0010
Revises: 0009

A turn stores the user's message at once and its answer when the model has finished, with
other turns of the same conversation possibly stored in between. The answer's position is
taken together with the message's, so a turn reads back whole; a position taken is never
given again, which the highest stored position alone cannot tell (the answer is not stored
yet). Existing conversations continue after their last message.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("next_position", sa.Integer(), nullable=False,
                                             server_default="0"))
    op.execute(
        "UPDATE conversations SET next_position = COALESCE((SELECT MAX(m.position) + 1 "
        "FROM messages m WHERE m.org_id = conversations.org_id "
        "AND m.user_id = conversations.user_id AND m.conversation_id = conversations.id), 0)")


def downgrade() -> None:
    # Plain SQL (SQLite 3.35 and later drop columns in place): batch mode would copy and drop
    # the table, and dropping it cascades to every message.
    op.execute("ALTER TABLE conversations DROP COLUMN next_position")
