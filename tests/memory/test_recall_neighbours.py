"""Recall lifts what was said next to a match: the other half of an exchange."""

from __future__ import annotations

from datetime import UTC, datetime

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


def test_recall_reads_where_each_source_message_sits_in_its_conversation(db: Database) -> None:
    """Two equally unrelated memories: the one said right after the match ranks first."""
    service = MemoryService(db)
    conversation = conversations.start_conversation(
        db, model="m", org_id=ANNA.org_id, user_id=ANNA.user_id).id

    def say(text: str) -> None:
        [message_id] = conversations.append_messages(
            db, conversation, [{"role": "user", "content": text}],
            org_id=ANNA.org_id, user_id=ANNA.user_id)
        service.remember(ANNA, text, speaker="Anna", said_at=MAY,
                         source=SourceRef(message_id=message_id, conversation_id=conversation))

    say("I repaired an old sailing boat with my uncle Tomas.")
    say("I painted my kitchen a pale yellow.")
    for filler in ("I bought new running shoes.", "I baked sourdough bread.",
                   "I watched a documentary about owls.", "I planted tomatoes on the balcony."):
        say(filler)
    say("I painted my hallway a pale green.")
    recalled = service.recall(ANNA, "Who helped Anna fix the sailing boat?", now=MAY, limit=10)
    texts = [hit.memory.text for hit in recalled]
    assert "boat" in texts[0]
    kitchen = next(i for i, t in enumerate(texts) if "kitchen" in t)
    hallway = next((i for i, t in enumerate(texts) if "hallway" in t), len(texts))
    assert kitchen < hallway
