"""What a person sees (issue 22, item 6): tell hearth about yourself, then ask about it in new
chats. The memory list afterwards holds one fact per memory, with the name written as a name,
and none of the questions; the prompt says whose facts the recalled memories are."""

from __future__ import annotations

import asyncio
import re

import pytest

from hearth.assistant.turn import Assistant
from hearth.engines.base import ChatRequest, Delta
from hearth.engines.fake import FakeEngine
from hearth.memory.service import MemoryService
from hearth.memory.worker import MemoryWorker
from hearth.store import memories as store
from hearth.store.db import Database
from hearth.store.memories import Owner

INGRID = Owner("fjord", "ingrid")
TOLD = "I moved to Tromsø last spring and I work as a marine biologist. My dog is called Fjord."
QUESTIONS = {"Where do I live?": "Tromsø", "What is my dog called?": "Fjord",
             "What do I do for work?": "marine biologist"}


class PromptRecorder(FakeEngine):
    """The fake engine, keeping the system prompt of every request it answers."""

    def __init__(self) -> None:
        super().__init__("fake", context_length=4096, slots=1, max_queue=4)
        self.system_prompts: list[str] = []

    async def chat(self, request: ChatRequest):  # type: ignore[override]
        first = request.messages[0]
        self.system_prompts.append(first["content"] if first["role"] == "system" else "")
        async for delta in super().chat(request):
            yield delta


def say(assistant: Assistant, worker: MemoryWorker, text: str, conversation_id: str) -> None:
    """One turn in its own chat, then the memory worker's job for it, as in production."""
    async def turn() -> list[Delta]:
        return [delta async for delta in assistant.respond(
            ChatRequest(messages=[{"role": "user", "content": text}]),
            conversation_id=conversation_id, owner=INGRID, remember=True)]

    asyncio.run(turn())
    assert worker.drain() == 1


@pytest.fixture
def chatted(db: Database) -> tuple[list[str], list[str]]:
    """Ingrid's memory texts and the system prompts, after she told and then asked."""
    service = MemoryService(db)
    worker = MemoryWorker(service)
    engine = PromptRecorder()
    assistant = Assistant(engine, db, service, worker=None)
    say(assistant, worker, TOLD, "told")
    for number, question in enumerate(QUESTIONS):
        say(assistant, worker, question, f"asked-{number}")
    texts = [m.text for m in store.list_memories(db, INGRID)]
    return texts, engine.system_prompts[1:]


def test_one_fact_per_memory_and_no_memory_of_a_question(chatted) -> None:
    texts, _ = chatted
    assert len(texts) == 3
    assert any(re.fullmatch(r"Ingrid moved to Tromsø last spring \(spring \d{4}\)\.", t)
               for t in texts)
    assert "Ingrid works as a marine biologist." in texts
    assert "Ingrid's dog is called Fjord." in texts
    assert not any(" and " in t or "asked" in t or "?" in t for t in texts)


def test_the_name_is_written_as_a_name_not_as_the_user_id(chatted) -> None:
    texts, _ = chatted
    assert all(t.startswith("Ingrid") for t in texts)
    assert not any("ingrid" in t for t in texts)


def test_the_prompt_says_the_memories_are_about_the_user_in_this_chat(chatted) -> None:
    _, prompts = chatted
    for prompt, answer in zip(prompts, QUESTIONS.values(), strict=True):
        header = "What you know about the user you are talking to (Ingrid)"
        assert header in prompt
        assert answer in prompt[prompt.index(header):]
