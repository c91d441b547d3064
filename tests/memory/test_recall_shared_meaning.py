"""Recall leans a question away from what all of the owner's memories share (their name, their
usual tone), so that memories which say something specific outrank ones that say little."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.memory import recall
from hearth.memory.service import MemoryService
from hearth.store.db import Database
from hearth.store.memories import Owner

ANNA = Owner("acme", "anna")
MAY = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)
SAYS_LITTLE = [
    "Anna is so grateful for that.", "That means a lot to Anna.", "Anna said: it was great.",
    "Anna is really happy about it.", "Anna's family is everything to Anna.",
    "Anna said: thanks so much!", "Anna is doing great lately.", "Anna said: you're the best.",
    "Anna feels so lucky.", "Anna is so proud of them.", "Anna said: it made my day.",
    "It's been a wild ride for Anna.",
]
HOBBIES = ["Anna just signed up for a pottery class.", "Anna went camping with Anna's kids.",
           "Anna took the kids swimming."]


@pytest.mark.parametrize("question", ["What hobbies does Anna have?",
                                      "What activities does Anna partake in?"])
def test_specific_memories_outrank_ones_that_only_share_the_name(
        db: Database, monkeypatch: pytest.MonkeyPatch, question: str) -> None:
    service = MemoryService(db)
    for text in SAYS_LITTLE + HOBBIES:
        service.add(ANNA, text=text, kind="fact", observed_at=MAY)

    def places_of_hobbies() -> list[int]:
        ranked = service.recall(ANNA, question, now=MAY, limit=len(SAYS_LITTLE + HOBBIES))
        return [place for place, hit in enumerate(ranked) if hit.memory.text in HOBBIES]

    leaning_away = places_of_hobbies()
    monkeypatch.setattr(recall, "SHARED_MEANING_WEIGHT", 0.0)
    assert sum(leaning_away) < sum(places_of_hobbies())
