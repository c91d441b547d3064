"""Recall spreads its picks over what was said: a memory that only repeats the messages of
memories already chosen ranks lower, but is not dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from hearth.memory.recall import REPEAT_FACTOR, RecalledMemory, _choose
from hearth.store.memories import MemoryRecord, SourceRef

MAY = datetime(2023, 5, 8, tzinfo=UTC)


def hit(memory_id: int, score: float, *messages: int, text: str = "a memory") -> RecalledMemory:
    record = MemoryRecord(
        id=memory_id, org_id="acme", user_id="anna", kind="fact", text=text, subject=None,
        observed_at=MAY, valid_from=MAY, valid_to=None, importance=0.5, pinned=False,
        superseded_by=None, created_at=MAY, updated_at=MAY,
        sources=tuple(SourceRef(message_id=m) for m in messages))
    return RecalledMemory(record, score)


def ids(chosen: list[RecalledMemory]) -> list[int]:
    return [h.memory.id for h in chosen]


def test_a_second_memory_of_the_same_message_yields_to_one_from_another_message() -> None:
    scored = [hit(1, 1.0, 7), hit(2, 0.9, 7), hit(3, 0.8, 8)]
    chosen = _choose(scored, limit=3, token_budget=None)
    assert ids(chosen) == [1, 3, 2]
    assert chosen[2].score == 0.9 * REPEAT_FACTOR


def test_a_repeat_still_outranks_a_much_weaker_memory() -> None:
    scored = [hit(1, 1.0, 7), hit(2, 0.9, 7), hit(3, 0.1, 8)]
    assert ids(_choose(scored, limit=3, token_budget=None)) == [1, 2, 3]


def test_a_memory_adding_a_new_message_is_not_a_repeat() -> None:
    scored = [hit(1, 1.0, 7), hit(2, 0.9, 7, 9), hit(3, 0.8, 8)]
    assert ids(_choose(scored, limit=2, token_budget=None)) == [1, 2]


def test_memories_from_no_message_are_never_repeats() -> None:
    scored = [hit(1, 1.0), hit(2, 0.9), hit(3, 0.8, 8)]
    assert ids(_choose(scored, limit=2, token_budget=None)) == [1, 2]


def test_a_memory_left_out_for_the_budget_does_not_make_others_repeats() -> None:
    long = "word " * 200  # about 250 tokens: over the budget on its own
    scored = [hit(1, 1.0, 7, text=long), hit(2, 0.9, 7), hit(3, 0.8, 8)]
    assert ids(_choose(scored, limit=3, token_budget=100)) == [2, 3]
