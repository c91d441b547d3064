"""Recall leans a question away from what all of the owner's memories share (their name, their
usual tone), so that memories which say something specific outrank ones that say little.

The vectors are chosen (``ControlledEmbedder``): a question that names the owner sits between
the topic it asks about and the owner's name; memories that say little sit almost on the name,
and are nearer the question than the hobbies are (cosine 0.76 against 0.66). Leaning away from
the owner's mean, which points at the name, must turn that order round (0.48 against 0.53). The
texts share no word with the question, so the full-text search adds nothing and only the
vectors rank.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from controlled_embedder import ControlledEmbedder, direction
from hearth.memory import recall
from hearth.memory.service import MemoryService
from hearth.store.db import Database
from hearth.store.memories import Owner

ANNA = Owner("acme", "anna")
MAY = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)
QUESTION = "What hobbies does Anna have?"
TOPIC, NAME = 0, 1  # axes; every memory also has an axis of its own from 10 on
SAYS_LITTLE = ["So grateful for that.", "That means a lot.", "It was great.",
               "Really happy about it.", "Family is everything.", "Thanks so much!",
               "Doing great lately.", "You're the best.", "Feels so lucky.", "So proud of them.",
               "It made my day.", "It's been a wild ride."]
HOBBIES = ["Signed up for a pottery class.", "Went camping with the kids.",
           "Took the kids swimming."]


def chosen_vectors() -> dict[str, np.ndarray]:
    question = direction((TOPIC, 0.6), (NAME, 0.8))
    vectors = {QUESTION: question}
    for own_axis, text in enumerate(SAYS_LITTLE, start=10):
        vectors[text] = direction((NAME, 1.0), (own_axis, 0.33))  # cosine 0.76 to the question
    for own_axis, text in enumerate(HOBBIES, start=50):
        vectors[text] = direction((TOPIC, 0.7), (NAME, 0.3), (own_axis, 0.65))  # cosine 0.66
    return vectors


@pytest.fixture
def places_of_hobbies(db: Database):
    service = MemoryService(db, embedder=ControlledEmbedder(chosen_vectors()))
    for text in SAYS_LITTLE + HOBBIES:
        service.add(ANNA, text=text, kind="fact", observed_at=MAY)

    def places() -> list[int]:
        ranked = service.recall(ANNA, QUESTION, now=MAY, limit=len(SAYS_LITTLE + HOBBIES))
        return [place for place, hit in enumerate(ranked) if hit.memory.text in HOBBIES]

    return places


def test_memories_that_only_share_the_name_outrank_the_specific_ones_without_the_lean(
        places_of_hobbies, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recall, "SHARED_MEANING_WEIGHT", 0.0)
    last_three = len(SAYS_LITTLE) + np.arange(len(HOBBIES))
    assert places_of_hobbies() == list(last_three)


def test_leaning_away_from_the_owners_mean_puts_the_specific_memories_first(
        places_of_hobbies) -> None:
    assert places_of_hobbies() == [0, 1, 2]
