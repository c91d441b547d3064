"""Recall lifts what was said next to a match: the other half of an exchange."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controlled_embedder import ControlledEmbedder, direction
from hearth.memory import recall
from hearth.memory.recall import NEIGHBOUR_WEIGHT, _lift_by_neighbours
from hearth.memory.service import MemoryService
from hearth.store import conversations
from hearth.store.db import Database
from hearth.store.memories import Owner, SourceRef

ANNA = Owner("acme", "anna")
MAY = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)


def test_a_memory_earns_part_of_the_best_score_said_within_two_messages() -> None:
    scores = {1: 1.0, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1}
    spots = {1: {("c", 5)}, 2: {("c", 7)}, 3: {("c", 8)}, 4: {("other", 6)}, 5: set()}
    lifted = _lift_by_neighbours(scores, spots)
    assert lifted[2] == 0.1 + NEIGHBOUR_WEIGHT * 1.0  # two messages after the match
    assert lifted[3] == 0.1 + NEIGHBOUR_WEIGHT * 0.1  # three after: only its neighbour's
    assert lifted[4] == 0.1  # the same position in another conversation is not near
    assert lifted[5] == 0.1  # a memory from no message (imported) keeps its own score
    assert lifted[1] == 1.0 + NEIGHBOUR_WEIGHT * 0.1


def test_memories_of_one_message_do_not_lift_each_other() -> None:
    lifted = _lift_by_neighbours({1: 1.0, 2: 0.1}, {1: {("c", 3)}, 2: {("c", 3)}})
    assert lifted == {1: 1.0, 2: 0.1}


# The messages of one conversation, in order, and each one's memory's cosine to the question.
# Kitchen and hallway are both unrelated to it, the hallway a little less so; only the kitchen
# was said right after the match. No text but the boat's shares a word with the question.
QUESTION = "Who helped Anna fix the sailing boat?"
SAID = [("Repaired an old sailing boat with uncle Tomas.", 0.9),
        ("Kitchen painted pale yellow.", 0.1),
        ("New running shoes.", 0.0), ("Baked sourdough bread.", 0.0),
        ("Watched a documentary about owls.", 0.0), ("Planted tomatoes on the balcony.", 0.0),
        ("Hallway painted pale green.", 0.2)]


@pytest.fixture
def ranked_texts(db: Database):
    """Recall's ranking of the memories of ``SAID``, each drawn from its own message."""
    vectors = {QUESTION: direction((0, 1.0))}
    for own_axis, (text, cosine) in enumerate(SAID, start=10):
        vectors[text] = direction((0, cosine), (own_axis, (1 - cosine ** 2) ** 0.5))
    service = MemoryService(db, embedder=ControlledEmbedder(vectors))
    conversation = conversations.start_conversation(
        db, model="m", org_id=ANNA.org_id, user_id=ANNA.user_id).id
    for text, _ in SAID:
        [message_id] = conversations.append_messages(
            db, conversation, [{"role": "user", "content": text}],
            org_id=ANNA.org_id, user_id=ANNA.user_id)
        service.add(ANNA, text=text, kind="fact", observed_at=MAY,
                    sources=[SourceRef(message_id=message_id, conversation_id=conversation)])

    def ranked() -> list[str]:
        return [hit.memory.text for hit in service.recall(ANNA, QUESTION, now=MAY, limit=10)]

    return ranked


def place_of(texts: list[str], word: str) -> int:
    return next(i for i, t in enumerate(texts) if word in t)


def test_without_the_lift_the_nearer_unrelated_memory_ranks_higher(
        ranked_texts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recall, "NEIGHBOUR_WEIGHT", 0.0)
    texts = ranked_texts()
    assert "boat" in texts[0]
    assert place_of(texts, "Hallway") < place_of(texts, "Kitchen")


def test_recall_reads_where_each_source_message_sits_in_its_conversation(ranked_texts) -> None:
    """The memory said right after the match outranks a nearer one said far from it."""
    texts = ranked_texts()
    assert "boat" in texts[0]
    assert place_of(texts, "Kitchen") < place_of(texts, "Hallway")
