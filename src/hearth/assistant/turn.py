"""One chat turn: recall, assemble the prompt, generate, store, and queue what to remember.

Persistence happens on the reply path on purpose: the user's messages are committed before
generation starts, and the answer and the memory job are committed before the last piece is
handed back, so an answered request is never lost, even to a kill -9 of the server.
Extracting memories is the one thing left off the reply path: the background worker does it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from hearth.assistant.prompt import system_prompt, with_system_prompt
from hearth.assistant.user_name import user_name
from hearth.engines.base import ChatRequest, Delta, Engine
from hearth.memory.service import MemoryService
from hearth.memory.worker import MemoryWorker, job_payload
from hearth.store import conversations, memory_jobs
from hearth.store import memories as memory_store
from hearth.store.db import Database
from hearth.store.memories import Owner

LOCAL_OWNER = Owner("local", "local")
# What a turn recalls into the system prompt: at most this many memories, within this many
# tokens (``hearth.memory.recall.approx_tokens``).
RECALL_LIMIT = 8
RECALL_TOKENS = 600


def _last_user_text(messages: list[dict]) -> str | None:
    return next((m.get("content") for m in reversed(messages)
                 if m.get("role") == "user" and m.get("content")), None)


def _previous_assistant_text(messages: list[dict]) -> str | None:
    for i in range(len(messages) - 1, 0, -1):
        if messages[i].get("role") == "user":
            before = messages[i - 1]
            return before.get("content") if before.get("role") == "assistant" else None
    return None


class Assistant:
    def __init__(self, engine: Engine, db: Database, memory: MemoryService | None = None,
                 worker: MemoryWorker | None = None):
        self.engine = engine
        self.db = db
        self.memory = memory
        self.worker = worker

    async def respond(
        self, request: ChatRequest, *, conversation_id: str | None = None,
        owner: Owner = LOCAL_OWNER, remember: bool = False,
    ) -> AsyncIterator[Delta]:
        """Stream the engine's answer, recording the turn when a conversation is named.

        With ``remember``, memories about the caller go into the system prompt and the
        user's message is queued for the memory worker.
        """
        said = _last_user_text(request.messages) if remember and self.memory else None
        original = request
        used: list[int] = []
        if said is not None:
            request, used = await run_in_threadpool(self.with_memories, request, owner, said)
        turn: conversations.StartedTurn | None = None
        if conversation_id is not None:
            turn = await run_in_threadpool(self._record_request, original, conversation_id,
                                           owner)
        message_ids = list(turn.message_ids) if turn else []
        content: list[str] = []
        # The engine reuses cached prompt prefixes only within the caller's org.
        async for delta in self.engine.chat(replace(request, cache_scope=owner.org_id)):
            content.append(delta.content)
            if delta.finish_reason is not None and said is not None:
                await run_in_threadpool(self._queue_memory_job, original, said, owner,
                                        conversation_id, message_ids)
            if delta.finish_reason is not None and turn is not None:
                reply = {"role": "assistant", "content": "".join(content) or None,
                         "memory_ids": used or None}
                if delta.tool_calls:
                    reply["tool_calls"] = [
                        {"id": c.id, "type": "function",
                         "function": {"name": c.name, "arguments": c.arguments}}
                        for c in delta.tool_calls
                    ]
                await run_in_threadpool(
                    conversations.finish_turn, self.db, conversation_id, turn, reply,
                    org_id=owner.org_id, user_id=owner.user_id,
                )
            yield delta

    def with_memories(self, request: ChatRequest, owner: Owner, said: str, *,
                      now: datetime | None = None, limit: int = RECALL_LIMIT,
                      token_budget: int = RECALL_TOKENS) -> tuple[ChatRequest, list[int]]:
        """The request with what hearth knows about the user in its system prompt, and the
        ids of the memories that went in (stored with the reply, so the user can see them).

        ``said`` is what recall searches for; ``now`` (default: the present) is when it is
        asked. The answer benchmark (``hearth.bench.memory_answers``) builds its prompts here,
        asked at the end of a recorded conversation and with its own budget, so that what it
        scores is the prompt a user's turn gets."""
        assert self.memory is not None
        recalled = self.memory.recall(owner, said, now=now, limit=limit,
                                      token_budget=token_budget)
        profile = memory_store.profile_memories(self.db, owner, limit=8)
        prompt = system_prompt(profile, recalled, user=user_name(owner))
        used = list(dict.fromkeys([m.id for m in profile] + [hit.memory.id for hit in recalled]))
        return replace(request, messages=with_system_prompt(request.messages, prompt)), used

    def _queue_memory_job(self, request: ChatRequest, said: str, owner: Owner,
                          conversation_id: str | None, message_ids: list[int]) -> None:
        user_ids = [i for i, m in zip(message_ids, request.messages[-len(message_ids):])
                    if m.get("role") == "user"] if message_ids else []
        payload = job_payload(text=said, speaker=user_name(owner), said_at=datetime.now(UTC),
                              message_id=user_ids[-1] if user_ids else None,
                              conversation_id=conversation_id,
                              previous=_previous_assistant_text(request.messages))
        memory_jobs.enqueue_job(self.db, owner, payload)
        if self.worker is not None:
            self.worker.notify()

    def _record_request(self, request: ChatRequest, conversation_id: str,
                        owner: Owner) -> conversations.StartedTurn:
        conversations.ensure_conversation(
            self.db, conversation_id, model=self.engine.model_id,
            org_id=owner.org_id, user_id=owner.user_id,
        )
        stored = conversations.stored_message_count(
            self.db, conversation_id, org_id=owner.org_id, user_id=owner.user_id
        )
        # Clients resend the whole history each turn; only what follows the stored part is new.
        new = request.messages[stored:] if len(request.messages) > stored else request.messages[-1:]
        return conversations.start_turn(
            self.db, conversation_id, new, org_id=owner.org_id, user_id=owner.user_id
        )
