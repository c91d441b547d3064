"""Recall prefers the kind of memory a question's tense asks for: what happened for a question
about the past, plans for one about the future."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.memory.recall import TENSE_KIND_BOOST
from hearth.memory.service import MemoryService
from hearth.store.db import Database
from hearth.store.memories import Owner

ANNA = Owner("acme", "anna")
MAY = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)
PAST = "What did Anna sing at the harbour?"
FUTURE = "What will Anna sing at the harbour?"
NO_TENSE = "What does Anna sing at the harbour?"


def score(service: MemoryService, question: str) -> float:
    [hit] = service.recall(ANNA, question, now=MAY)
    return hit.score


@pytest.mark.parametrize(("kind", "past", "future"), [
    ("event", 1 + TENSE_KIND_BOOST, 1.0),
    ("plan", 1.0, 1 + TENSE_KIND_BOOST),
    ("fact", 1.0, 1.0),
])
def test_a_memory_of_the_kind_the_tense_asks_for_scores_higher(
        db: Database, kind: str, past: float, future: float) -> None:
    """One memory, found first by words and by meaning for each question: only the prior
    for its kind can make the scores differ."""
    service = MemoryService(db)
    service.add(ANNA, text="Anna sings with the choir at the harbour.", kind=kind,
                observed_at=MAY)

    plain = score(service, NO_TENSE)

    assert score(service, PAST) == pytest.approx(plain * past)
    assert score(service, FUTURE) == pytest.approx(plain * future)
