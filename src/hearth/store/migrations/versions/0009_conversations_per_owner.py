"""Conversation ids are their owner's: the key of a conversation is (org, user, id).

Revision ID: 0009
Revises: 0008

Until now one id named one conversation for everyone: a client choosing "chat" when someone
in another org had already used it was refused (404), which told anyone which ids were taken
and let them take common ones. Now the same id used by two owners is two conversations, and
messages point at their conversation by owner and id.

Constraints change in an order that keeps the foreign key of ``messages`` off
``conversations`` while that table is copied (batch mode on SQLite): dropping a table that is
still referenced would cascade to every message. A downgrade fails if two owners have since
used the same id, as it must: the old key cannot hold them both.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (foreign key, unique position) of messages, named as the naming convention names them.
SHARED_IDS = ("fk_messages_conversation_id_conversations", "uq_messages_conversation_id_position")
PER_OWNER = ("fk_messages_org_id_conversations",
             "uq_messages_org_id_user_id_conversation_id_position")


def _rekey(owner: list[str], drop: tuple[str, str], add: tuple[str, str]) -> None:
    """Key conversations by ``owner`` + id, and messages' foreign key and positions with them."""
    with op.batch_alter_table("messages") as messages:
        messages.drop_constraint(drop[0], type_="foreignkey")
        messages.drop_constraint(drop[1], type_="unique")
    with op.batch_alter_table("conversations") as conversations:
        conversations.drop_constraint("pk_conversations", type_="primary")
        conversations.create_primary_key("pk_conversations", [*owner, "id"])
    with op.batch_alter_table("messages") as messages:
        messages.create_unique_constraint(add[1], [*owner, "conversation_id", "position"])
        messages.create_foreign_key(add[0], "conversations", [*owner, "conversation_id"],
                                    [*owner, "id"], ondelete="CASCADE")


def upgrade() -> None:
    _rekey(["org_id", "user_id"], drop=SHARED_IDS, add=PER_OWNER)


def downgrade() -> None:
    _rekey([], drop=PER_OWNER, add=SHARED_IDS)
