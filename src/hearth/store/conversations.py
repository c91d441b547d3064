"""Conversations and their messages, stored as they happen.

Every function takes the ``Database`` and the caller's ``org_id``/``user_id``, and every
query is narrowed to them by ``_owned`` below: the one place tenant scoping happens. A
conversation that belongs to someone else behaves exactly like one that does not exist.

The functions return frozen views, not ORM objects, so callers can hold them after the
session has closed (in another thread, in a response) without lazy loads or stale state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Delete, Select, Update, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth.errors import InvalidRequest, NotFound
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tables import Conversation, Message, utcnow

LOCAL = "local"
TITLE_LENGTH = 60
MAX_ID_LENGTH = 64

# Selects, updates and deletes alike; all are narrowed by ``_owned``.
_Statement = TypeVar("_Statement", Select[Any], Update, Delete)


@dataclass(frozen=True)
class MessageView:
    id: int
    position: int
    role: str
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    created_at: datetime
    memory_ids: tuple[int, ...] = ()  # an assistant reply's: the memories it was given

    def as_chat_message(self) -> dict[str, Any]:
        """The OpenAI-style dict this message was stored from (absent fields left out)."""
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        for key in ("tool_calls", "tool_call_id", "name"):
            if getattr(self, key) is not None:
                message[key] = getattr(self, key)
        return message


@dataclass(frozen=True)
class ConversationView:
    id: str
    org_id: str
    user_id: str
    title: str | None
    model: str
    created_at: datetime
    updated_at: datetime
    messages: tuple[MessageView, ...] = ()  # filled by get_conversation only


def _owned(statement: _Statement, model: type[Conversation] | type[Message],
           org_id: str, user_id: str) -> _Statement:
    """Narrow a query to one tenant. Every read and write in this module goes through here."""
    return statement.where(model.org_id == org_id, model.user_id == user_id)


def _not_found(conversation_id: str) -> NotFound:
    return NotFound(
        f"No conversation with id {conversation_id!r} was found for this user; "
        "list the conversations to see which ids exist.",
        param="conversation_id",
        code="conversation_not_found",
    )


def _view(row: Conversation, messages: list[Message] | None = None) -> ConversationView:
    return ConversationView(
        id=row.id, org_id=row.org_id, user_id=row.user_id, title=row.title, model=row.model,
        created_at=row.created_at, updated_at=row.updated_at,
        messages=tuple(
            MessageView(
                id=m.id, position=m.position, role=m.role, content=m.content,
                tool_calls=m.tool_calls, tool_call_id=m.tool_call_id, name=m.name,
                created_at=m.created_at, memory_ids=tuple(m.memory_ids or ()),
            )
            for m in messages or ()
        ),
    )


def _find(session: Session, conversation_id: str, org_id: str, user_id: str) -> Conversation | None:
    query = select(Conversation).where(Conversation.id == conversation_id)
    return session.scalars(_owned(query, Conversation, org_id, user_id)).one_or_none()


def _text(content: Any) -> str | None:
    """Message content as text: OpenAI's list of content parts becomes its joined text."""
    if content is None or isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content if isinstance(part, dict))


def _title(messages: list[dict[str, Any]]) -> str | None:
    for message in messages:
        text = " ".join((_text(message.get("content")) or "").split())
        if message.get("role") == "user" and text:
            return text[:TITLE_LENGTH].rstrip()
    return None


def start_conversation(db: Database, *, model: str, title: str | None = None,
                       conversation_id: str | None = None, org_id: str = LOCAL,
                       user_id: str = LOCAL) -> ConversationView:
    """Create a conversation (with a new ``conv_…`` id unless one is given).

    Raises ``sqlalchemy.exc.IntegrityError`` if the owner has one with that id already;
    ``ensure_conversation`` is the call for ids that come from clients.
    """
    if conversation_id is not None and not 0 < len(conversation_id) <= MAX_ID_LENGTH:
        raise InvalidRequest(
            f"A conversation id must be 1 to {MAX_ID_LENGTH} characters long.",
            param="conversation_id",
        )
    now = utcnow()
    row = Conversation(
        id=conversation_id or f"conv_{uuid.uuid4().hex}", org_id=org_id, user_id=user_id,
        title=title, model=model, created_at=now, updated_at=now,
    )
    with db.session() as session:
        session.add(row)
    return _view(row)


def ensure_conversation(db: Database, conversation_id: str, *, model: str,
                        org_id: str = LOCAL, user_id: str = LOCAL) -> ConversationView:
    """The caller's conversation with this id, created if they have none such yet.

    Ids are the owner's own: whether anyone else used the same id changes nothing here.
    """
    with db.session() as session:
        row = _find(session, conversation_id, org_id, user_id)
        if row is not None:
            return _view(row)
    try:
        return start_conversation(db, model=model, conversation_id=conversation_id,
                                  org_id=org_id, user_id=user_id)
    except IntegrityError:
        pass  # created meanwhile by a concurrent request of the same owner
    with db.session() as session:
        row = _find(session, conversation_id, org_id, user_id)
        if row is None:
            raise _not_found(conversation_id)
        return _view(row)


@dataclass(frozen=True)
class StartedTurn:
    """A turn's stored messages, and the position kept for its answer (``finish_turn``)."""

    message_ids: tuple[int, ...]
    answer_position: int


def _message_row(conversation_id: str, org_id: str, user_id: str, position: int,
                 message: dict[str, Any], now: datetime) -> Message:
    return Message(
        conversation_id=conversation_id, org_id=org_id, user_id=user_id, position=position,
        role=message["role"], content=_text(message.get("content")),
        tool_calls=message.get("tool_calls"), tool_call_id=message.get("tool_call_id"),
        name=message.get("name"), memory_ids=message.get("memory_ids"), created_at=now,
    )


def _append(db: Database, conversation_id: str, messages: list[dict[str, Any]], org_id: str,
            user_id: str, *, keep: int) -> tuple[list[int], int]:
    """Store messages at the conversation's next positions and keep ``keep`` more after them;
    returns their ids and the position after them."""
    now = utcnow()
    taken = len(messages) + keep
    touch: dict[str, Any] = {"updated_at": now,
                             "next_position": Conversation.next_position + taken}
    if (title := _title(messages)) is not None:
        touch["title"] = func.coalesce(Conversation.title, title)  # keep an existing title
    with db.session() as session:
        # One UPDATE takes the positions: it locks the row (PostgreSQL) or the database
        # (SQLite), so concurrent appends to one conversation get positions one after another.
        end = session.execute(
            _owned(update(Conversation), Conversation, org_id, user_id)
            .where(Conversation.id == conversation_id)
            .values(touch)
            .returning(Conversation.next_position)
        ).scalar()
        if end is None:
            raise _not_found(conversation_id)
        start = end - taken
        rows = [_message_row(conversation_id, org_id, user_id, start + offset, message, now)
                for offset, message in enumerate(messages)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows], start + len(messages)


def append_messages(db: Database, conversation_id: str, messages: list[dict[str, Any]], *,
                    org_id: str = LOCAL, user_id: str = LOCAL) -> list[int]:
    """Store OpenAI-style messages after the last stored one; committed when this returns.

    Returns the new messages' ids (memories cite them as their provenance). An assistant
    message may carry ``memory_ids``: the memories its prompt was given.

    The first user message names an untitled conversation. Raises ``NotFound`` when the
    conversation is missing or belongs to someone else.
    """
    return _append(db, conversation_id, messages, org_id, user_id, keep=0)[0]


def start_turn(db: Database, conversation_id: str, messages: list[dict[str, Any]], *,
               org_id: str = LOCAL, user_id: str = LOCAL) -> StartedTurn:
    """Store a turn's messages as ``append_messages`` does, and keep the next position for
    its answer.

    However many turns of the conversation overlap, the answer then reads back right after
    the messages it answers, as clients show a conversation and resend it as history. An
    answer never written (the client left, the engine failed) leaves its position empty,
    which reads skip.
    """
    ids, answer_position = _append(db, conversation_id, messages, org_id, user_id, keep=1)
    return StartedTurn(tuple(ids), answer_position)


def finish_turn(db: Database, conversation_id: str, turn: StartedTurn,
                answer: dict[str, Any], *, org_id: str = LOCAL,
                user_id: str = LOCAL) -> int | None:
    """Store a turn's answer at the position kept for it; returns the answer's id, or None
    when the turn's messages were cut away meanwhile (``truncate``: the person edited or
    regenerated it), so the stale answer is not kept."""
    now = utcnow()
    with db.session() as session:
        found = session.execute(
            _owned(update(Conversation), Conversation, org_id, user_id)
            .where(Conversation.id == conversation_id)
            .values(updated_at=now)
            .returning(Conversation.id)
        ).first()
        if found is None:
            raise _not_found(conversation_id)
        if turn.message_ids and not session.scalar(_owned(
                select(func.count()).select_from(Message), Message, org_id, user_id)
                .where(Message.id.in_(turn.message_ids))):
            return None
        row = _message_row(conversation_id, org_id, user_id, turn.answer_position, answer, now)
        session.add(row)
        session.flush()
        return row.id


def truncate(db: Database, conversation_id: str, keep: int, *, org_id: str = LOCAL,
             user_id: str = LOCAL) -> int:
    """Keep the first ``keep`` stored messages and delete the rest; returns how many went.

    A person who regenerates a reply or edits an earlier message replaces the tail of the
    conversation: the client cuts it here, then sends the new turn. Counting messages, not
    positions, matches what clients see (an unanswered turn leaves a gap in positions).
    Positions are never reused: a turn still answering keeps its place, and its answer is
    dropped if its own messages were cut (``finish_turn``).
    """
    with db.session() as session:
        if _find(session, conversation_id, org_id, user_id) is None:
            raise _not_found(conversation_id)
        tail = list(session.scalars(_owned(
            select(Message.id), Message, org_id, user_id)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.position).offset(keep)))
        if tail:
            session.execute(_owned(delete(Message), Message, org_id, user_id)
                            .where(Message.id.in_(tail)))
            session.execute(_owned(update(Conversation), Conversation, org_id, user_id)
                            .where(Conversation.id == conversation_id)
                            .values(updated_at=utcnow()))
        return len(tail)


def stored_message_count(db: Database, conversation_id: str, *, org_id: str = LOCAL,
                         user_id: str = LOCAL) -> int:
    """How many messages are stored; 0 for a conversation the caller does not have.

    A client that resends the whole history can store only what lies past this count.
    """
    with db.session() as session:
        query = select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id
        )
        return session.scalar(_owned(query, Message, org_id, user_id)) or 0


def list_conversations(db: Database, *, limit: int | None = 20, org_id: str = LOCAL,
                       user_id: str = LOCAL, title_contains: str | None = None
                       ) -> list[ConversationView]:
    """The caller's conversations, most recently updated first, without their messages (all
    of them with ``limit=None``); ``title_contains`` keeps those whose title holds it (any
    case)."""
    query = (
        select(Conversation)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if title_contains:
        query = query.where(Conversation.title.icontains(title_contains, autoescape=True))
    with db.session() as session:
        return [_view(row) for row in session.scalars(_owned(query, Conversation, org_id, user_id))]


def get_conversation(db: Database, conversation_id: str, *, org_id: str = LOCAL,
                     user_id: str = LOCAL) -> ConversationView:
    """One conversation with its messages in order; ``NotFound`` if the caller has none such."""
    with db.session() as session:
        row = _find(session, conversation_id, org_id, user_id)
        if row is None:
            raise _not_found(conversation_id)
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.position)
        )
        return _view(row, list(session.scalars(_owned(query, Message, org_id, user_id))))


def rename_conversation(db: Database, conversation_id: str, title: str, *,
                        org_id: str = LOCAL, user_id: str = LOCAL) -> ConversationView:
    """Give the caller's conversation a title of their choosing."""
    with db.session() as session:
        row = _find(session, conversation_id, org_id, user_id)
        if row is None:
            raise _not_found(conversation_id)
        row.title = title
        session.flush()
        return _view(row)


def delete_conversation(db: Database, conversation_id: str, *, org_id: str = LOCAL,
                        user_id: str = LOCAL) -> None:
    """Delete the caller's conversation and its messages (memories drawn from it stay, as
    memories the user can forget on their own)."""
    with db.session() as session:
        if _find(session, conversation_id, org_id, user_id) is None:
            raise _not_found(conversation_id)
        session.execute(_owned(delete(Message), Message, org_id, user_id)
                        .where(Message.conversation_id == conversation_id))
        session.execute(_owned(delete(Conversation), Conversation, org_id, user_id)
                        .where(Conversation.id == conversation_id))


def conversation_owners(db: Database, org_id: str) -> list[Owner]:
    """The users of ``org_id`` who have conversations, in id order: an org-wide reader (an org
    admin building training data) goes through them one owner at a time."""
    query = (select(Conversation.user_id).where(Conversation.org_id == org_id)
             .distinct().order_by(Conversation.user_id))
    with db.session() as session:
        return [Owner(org_id, user_id) for user_id in session.scalars(query)]


def latest_conversation(db: Database, *, org_id: str = LOCAL,
                        user_id: str = LOCAL) -> ConversationView | None:
    """The caller's most recently updated conversation (to continue it), without messages."""
    latest = list_conversations(db, limit=1, org_id=org_id, user_id=user_id)
    return latest[0] if latest else None


def delete_idle_before(db: Database, org_id: str, cutoff: datetime) -> int:
    """Retention: delete an org's conversations not updated since ``cutoff``, with their
    messages; returns how many conversations went.

    One statement: the foreign key's cascade takes each conversation's messages by owner and
    id, so no other owner's conversation of the same id loses any.
    """
    with db.session() as session:
        gone = session.execute(delete(Conversation).where(
            Conversation.org_id == org_id, Conversation.updated_at < cutoff))
        return gone.rowcount or 0


def message_positions(db: Database, message_ids: list[int], *, org_id: str,
                      user_id: str) -> dict[int, tuple[str, int]]:
    """Where each of the caller's messages sits: (conversation id, position). Recall uses it
    to tell which memories came from the same exchange; others' ids are silently absent."""
    if not message_ids:
        return {}
    query = select(Message.id, Message.conversation_id, Message.position).where(
        Message.id.in_(message_ids))
    with db.session() as session:
        return {i: (c, p) for i, c, p in session.execute(_owned(query, Message, org_id, user_id))}
