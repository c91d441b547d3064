"""Candidate memories from one message by the chat model, as JSON held to a schema.

Chosen with ``HEARTH_MEMORY_EXTRACTOR=llm`` for a model capable enough to write good memories
(the 0.5B default is not: it is left on the rules). The engine is asked for
``response_format: json_schema``, so the answer is valid JSON of the right shape by
construction where the engine enforces schemas (llama.cpp compiles them to a grammar); the
answer is still checked here, and anything that fails to parse, validate or arrive in time
falls back to the rules' candidates: a weak or busy model never costs a message its memories.

The model writes each memory as a standalone third-person sentence and the date it happened;
relative dates it leaves in the text are resolved the same way as the rules do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from hearth.config import Settings
from hearth.engines.base import ChatRequest, Engine
from hearth.memory.dates import resolve_relative_dates
from hearth.memory.extract import MAX_CANDIDATES, Candidate, extract
from hearth.memory.service import Extractor
from hearth.store.memories import KINDS

log = logging.getLogger(__name__)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "memories": {
            "type": "array",
            "maxItems": MAX_CANDIDATES,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "text": {"type": "string", "minLength": 3, "maxLength": 400},
                    "happened_on": {"type": ["string", "null"],
                                    "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "importance": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "required": ["kind", "text", "happened_on", "importance"],
            },
        },
    },
    "required": ["memories"],
}

INSTRUCTIONS = """You keep a personal assistant's long-term memory about {speaker}.
Read {speaker}'s message and list what is worth remembering about {speaker} for later
conversations: facts about them, preferences, relationships, plans and events.
Rules:
- One memory per fact, as a standalone sentence in the third person that names {speaker}
  (write "{speaker} adopted a cat", never "I adopted a cat").
- Keep names, places, numbers and titles exactly as said.
- happened_on: the date (YYYY-MM-DD) the fact happened or will happen, worked out from the
  message time {said_at:%A %d %B %Y}; null when the message does not say.
- importance: 0.2 for passing remarks up to 0.9 for lasting facts about who {speaker} is.
- Greetings, thanks and small talk are not memories: answer {{"memories": []}}.
Answer with JSON only."""

Complete = Callable[[ChatRequest], str]


def extraction_request(text: str, *, speaker: str, said_at: datetime,
                       previous: str | None = None,
                       previous_speaker: str | None = None) -> ChatRequest:
    """The chat request that asks the model for a message's memories."""
    said = f"{speaker}'s message: {text}"
    if previous:
        said = f"The message before, by {previous_speaker or 'the other party'}: " \
               f"{previous}\n\n{said}"
    return ChatRequest(
        messages=[{"role": "system",
                   "content": INSTRUCTIONS.format(speaker=speaker, said_at=said_at)},
                  {"role": "user", "content": said}],
        max_tokens=600, temperature=0.0, seed=0, stream=True,
        response_format={"type": "json_schema",
                         "json_schema": {"name": "memories", "schema": SCHEMA}},
    )


def parse_candidates(answer: str, said_at: datetime) -> list[Candidate]:
    """The candidates in a model's answer; ValueError if it is not what the schema asks."""
    try:
        data = json.loads(answer)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not JSON: {exc}") from None
    items = data.get("memories") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("the answer has no list of memories")
    candidates = []
    for item in items[:MAX_CANDIDATES]:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            raise ValueError(f"not a memory of a known kind: {item!r}")
        text = " ".join(str(item.get("text") or "").split())
        if len(text) < 3:
            raise ValueError(f"a memory without text: {item!r}")
        importance = item.get("importance")
        if not isinstance(importance, int | float) or not 0 <= importance <= 1:
            raise ValueError(f"importance must be a number from 0 to 1: {item!r}")
        resolved, mentioned = resolve_relative_dates(text, said_at)
        candidates.append(Candidate(
            kind=item["kind"], text=resolved, importance=float(importance),
            observed_at=_happened_on(item.get("happened_on"), said_at) or mentioned or said_at,
        ))
    return candidates


def _happened_on(value: Any, said_at: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"happened_on is not a YYYY-MM-DD date: {value!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=said_at.tzinfo or UTC)


class LLMExtractor:
    """``extract``'s signature, answered by the model; the rules answer when it cannot."""

    def __init__(self, complete: Complete):
        self._complete = complete

    def __call__(self, text: str, *, speaker: str, said_at: datetime,
                 previous: str | None = None,
                 previous_speaker: str | None = None) -> list[Candidate]:
        request = extraction_request(text, speaker=speaker, said_at=said_at,
                                     previous=previous, previous_speaker=previous_speaker)
        try:
            return parse_candidates(self._complete(request), said_at)
        except Exception as exc:  # any failure of the model: the rules still remember
            log.warning("LLM memory extraction failed (%s); using the rules", exc)
            return extract(text, speaker=speaker, said_at=said_at, previous=previous,
                           previous_speaker=previous_speaker)


class EngineCompleter:
    """Runs a chat request on the engine from the memory worker's thread.

    The engine lives on the server's event loop, so the request is handed to that loop and
    this thread waits for the whole answer, at most ``timeout`` seconds. ``bind`` names the
    loop once it runs; unbound or past the timeout, the call fails (and the rules answer).
    """

    def __init__(self, engine: Engine, timeout: float = 120.0):
        self.engine = engine
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def _answer(self, request: ChatRequest) -> str:
        return "".join([delta.content async for delta in self.engine.chat(request)])

    def __call__(self, request: ChatRequest) -> str:
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError("the engine's event loop is not running")
        future = asyncio.run_coroutine_threadsafe(self._answer(request), loop)
        try:
            return future.result(self.timeout)
        except TimeoutError:
            future.cancel()
            raise


def configured_extractor(settings: Settings,
                         engine: Engine) -> tuple[Extractor, EngineCompleter | None]:
    """The extractor ``HEARTH_MEMORY_EXTRACTOR`` names, and the completer to ``bind`` to the
    event loop the engine runs on (None for the rules)."""
    if settings.memory_extractor == "rules":
        return extract, None
    completer = EngineCompleter(engine)
    return LLMExtractor(completer), completer
