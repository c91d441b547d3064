"""One chat turn: store what the user said, generate the answer, store the answer.

Persistence happens on the reply path on purpose: the user's messages are committed before
generation starts and the answer is committed before the last piece is handed back, so an
answered request is never lost, even to a kill -9 of the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from hearth.engines.base import ChatRequest, Delta, Engine
from hearth.store import conversations
from hearth.store.db import Database


@dataclass(frozen=True)
class Caller:
    """Whose conversation this is; a later layer fills it from the API key."""

    org_id: str = "local"
    user_id: str = "local"


class Assistant:
    def __init__(self, engine: Engine, db: Database):
        self.engine = engine
        self.db = db

    async def respond(
        self, request: ChatRequest, *, conversation_id: str | None = None,
        caller: Caller = Caller(),
    ) -> AsyncIterator[Delta]:
        """Stream the engine's answer, recording the turn when a conversation is named."""
        if conversation_id is None:
            async for delta in self.engine.chat(request):
                yield delta
            return
        await run_in_threadpool(self._record_request, request, conversation_id, caller)
        content: list[str] = []
        async for delta in self.engine.chat(request):
            content.append(delta.content)
            if delta.finish_reason is not None:
                reply = {"role": "assistant", "content": "".join(content) or None}
                if delta.tool_calls:
                    reply["tool_calls"] = [
                        {"id": c.id, "type": "function",
                         "function": {"name": c.name, "arguments": c.arguments}}
                        for c in delta.tool_calls
                    ]
                await run_in_threadpool(
                    conversations.append_messages, self.db, conversation_id, [reply],
                    org_id=caller.org_id, user_id=caller.user_id,
                )
            yield delta

    def _record_request(self, request: ChatRequest, conversation_id: str, caller: Caller) -> None:
        conversations.ensure_conversation(
            self.db, conversation_id, model=self.engine.model_id,
            org_id=caller.org_id, user_id=caller.user_id,
        )
        stored = conversations.stored_message_count(
            self.db, conversation_id, org_id=caller.org_id, user_id=caller.user_id
        )
        # Clients resend the whole history each turn; only what follows the stored part is new.
        new = request.messages[stored:] if len(request.messages) > stored else request.messages[-1:]
        conversations.append_messages(
            self.db, conversation_id, new, org_id=caller.org_id, user_id=caller.user_id
        )
