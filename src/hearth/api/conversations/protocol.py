"""Response schemas of ``/v1/conversations``, in the style of OpenAI's list and object shapes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hearth.store.conversations import ConversationView, MessageView


class ConversationMessage(BaseModel):
    id: int
    role: str
    content: str | None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    created_at: int
    # An assistant reply's: the memories hearth was given for it (ids of /v1/memories).
    memory_ids: list[int] = []

    @classmethod
    def from_view(cls, view: MessageView) -> ConversationMessage:
        return cls(
            id=view.id, role=view.role, content=view.content, tool_calls=view.tool_calls,
            tool_call_id=view.tool_call_id, name=view.name,
            created_at=int(view.created_at.timestamp()), memory_ids=list(view.memory_ids),
        )


class ConversationSummary(BaseModel):
    """A conversation without its messages, as listed."""

    id: str
    object: Literal["conversation"] = "conversation"
    created_at: int
    updated_at: int
    title: str | None
    model: str

    @classmethod
    def from_view(cls, view: ConversationView) -> ConversationSummary:
        return cls(
            id=view.id, created_at=int(view.created_at.timestamp()),
            updated_at=int(view.updated_at.timestamp()), title=view.title, model=view.model,
        )


class ConversationObject(ConversationSummary):
    """A conversation with its messages in order."""

    messages: list[ConversationMessage]

    @classmethod
    def from_view(cls, view: ConversationView) -> ConversationObject:
        summary = ConversationSummary.from_view(view).model_dump()
        return cls(**summary, messages=[ConversationMessage.from_view(m) for m in view.messages])


class RenameConversation(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class ConversationList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ConversationSummary]
