"""The systems ``hearth bench memory`` compares: production's memory service, driven as a chat
drives it, and raw-turn baselines."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from hearth.bench.baselines import render_turn
from hearth.bench.locomo import Conversation, Turn
from hearth.bench.memory_scoring import Hit
from hearth.store.memories import Owner, SourceRef

ORG = "bench"


class MemoryServiceLike(Protocol):
    def remember(self, owner: Owner, text: str, *, speaker: str, said_at: datetime,
                 source: SourceRef, previous: str | None = None,
                 previous_speaker: str | None = None,
                 previous_source: SourceRef | None = None) -> None: ...

    def recall(self, owner: Owner, question: str, *, now: datetime | None = None,
               limit: int = 10, token_budget: int | None = None) -> list[Any]: ...


def memory_text(recalled: Any) -> str:
    """A recalled memory's bare text (production's rendering is ``hearth_system``'s)."""
    return recalled.memory.text


def cite_turn(owner: Owner, turn: Turn) -> SourceRef:
    """A turn as a memory's source, by its ``dia_id`` (what recall is scored on)."""
    return SourceRef(ref=turn.dia_id, excerpt=turn.text)


class ServiceSystem:
    """A memory service driven as production drives it: one ``remember`` per message, one
    ``recall`` per question. Each conversation is its own user (``Owner("bench", name)``)."""

    def __init__(self, service: MemoryServiceLike, name: str = "hearth",
                 render: Callable[[Any], str] = memory_text,
                 record: Callable[[Owner, Turn], SourceRef] = cite_turn,
                 heading: Callable[[Any], str | None] = lambda _: None) -> None:
        self.service = service
        self.name = name
        self._render = render
        self._record = record
        self._heading = heading

    @staticmethod
    def owner(conversation: Conversation) -> Owner:
        return Owner(ORG, conversation.name)

    def ingest(self, conversation: Conversation) -> list[float]:
        owner = self.owner(conversation)
        seconds = []
        previous: tuple[Turn, SourceRef] | None = None
        for turn in conversation.turns:
            source = self._record(owner, turn)
            before = previous if previous is not None and previous[0].session == turn.session \
                else None
            start = time.perf_counter()
            self.service.remember(
                owner, turn.text, speaker=turn.speaker, said_at=turn.said_at, source=source,
                previous=before[0].text if before else None,
                previous_speaker=before[0].speaker if before else None,
                previous_source=before[1] if before else None,
            )
            seconds.append(time.perf_counter() - start)
            previous = (turn, source)
        return seconds

    def search(self, conversation: Conversation, question: str, k: int) -> list[Hit]:
        recalled = self.service.recall(self.owner(conversation), question,
                                       now=conversation.last_time, limit=k)
        return [Hit(sources=tuple(s.ref for s in r.memory.sources if s.ref),
                    text=self._render(r), heading=self._heading(r)) for r in recalled]


class TurnRetriever(Protocol):
    name: str

    def index(self, turns: Sequence[Turn]) -> None: ...

    def search(self, question: str, k: int) -> list[Turn]: ...


class BaselineSystem:
    """A raw-turn retriever (``hearth.bench.baselines``), indexed one conversation at a time."""

    def __init__(self, retriever: TurnRetriever) -> None:
        self.retriever = retriever
        self.name = retriever.name
        self._current: str | None = None

    def ingest(self, conversation: Conversation) -> list[float]:
        self.retriever.index(conversation.turns)
        self._current = conversation.name
        return []

    def search(self, conversation: Conversation, question: str, k: int) -> list[Hit]:
        if conversation.name != self._current:
            raise RuntimeError(f"{self.name} holds {self._current!r}, not {conversation.name!r}")
        return [Hit(sources=(t.dia_id,), text=render_turn(t))
                for t in self.retriever.search(question, k)]


def embedder_threads() -> int:
    """The embedder's threads here: those of a deployment without a local engine (as
    configured, else the free cores), since no engine runs in this benchmark."""
    from hearth.config import Settings

    return Settings(engine="upstream").resolved_embedder_threads


@contextmanager
def hearth_system(folder: Path) -> Iterator[ServiceSystem]:
    """Production's memory service on a fresh SQLite database in ``folder``; memories are
    rendered (and counted against the budget) as the system prompt shows them
    (``hearth.memory.recall.render_memories``): a line each, under a line per day."""
    from hearth.memory.embedder import Embedder
    from hearth.memory.recall import day_heading
    from hearth.memory.service import MemoryService
    from hearth.store import conversations
    from hearth.store.db import Database

    db = Database(f"sqlite:///{folder / 'memory.db'}")
    db.migrate()
    started: set[str] = set()

    def record(owner: Owner, turn: Turn) -> SourceRef:
        """Store the turn as production stores a chat message (a conversation per session),
        so that its memories cite the message as well as the ``dia_id``."""
        conversation_id = f"{owner.user_id}-session-{turn.session}"
        if conversation_id not in started:
            conversations.start_conversation(db, model="locomo", conversation_id=conversation_id,
                                             org_id=owner.org_id, user_id=owner.user_id)
            started.add(conversation_id)
        [message_id] = conversations.append_messages(
            db, conversation_id, [{"role": "user", "name": turn.speaker, "content": turn.text}],
            org_id=owner.org_id, user_id=owner.user_id)
        return SourceRef(message_id=message_id, conversation_id=conversation_id,
                         ref=turn.dia_id, excerpt=turn.text)

    try:
        service = MemoryService(db, Embedder(threads=embedder_threads()))
        service.embedder.embed(["warm up"])  # load the model before anything is timed
        yield ServiceSystem(service, record=record,
                            heading=lambda hit: day_heading(hit.memory))
    finally:
        db.dispose()
