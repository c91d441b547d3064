"""Prompt assembly: the standing rules are always there, memories are rendered compactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hearth.assistant.prompt import BOUNDARIES, system_prompt, with_system_prompt
from hearth.memory.recall import RecalledMemory
from hearth.store.memories import MemoryRecord

WHEN = datetime(2023, 5, 7, tzinfo=UTC)


def memory(memory_id: int, text: str, kind: str = "event") -> MemoryRecord:
    return MemoryRecord(id=memory_id, org_id="o", user_id="u", kind=kind, text=text,
                        subject=None, observed_at=WHEN, valid_from=WHEN, valid_to=None,
                        importance=0.5, pinned=False, superseded_by=None, created_at=WHEN,
                        updated_at=WHEN)


def test_the_rules_forbid_manipulation_dependence_and_paid_placement() -> None:
    rules = BOUNDARIES.lower()
    assert "never manipulate" in rules
    assert "exclusive emotional dependence" in rules
    assert "paid placement" in rules and "never ranks above the best answer" in rules


def test_every_assembled_prompt_starts_with_the_rules_even_with_no_memories() -> None:
    assert system_prompt([], [], user="Ingrid") == BOUNDARIES
    prompt = system_prompt([memory(1, "Ingrid lives in Reykjavik.", "profile")],
                           [RecalledMemory(memory(2, "Ingrid went hiking."), 0.5)],
                           user="Ingrid")
    assert prompt.startswith(BOUNDARIES)


def test_profile_and_recalled_memories_are_rendered_with_dates_and_not_twice() -> None:
    home = memory(1, "Ingrid lives in Reykjavik.", "profile")
    hike = memory(2, "Ingrid went hiking (7 May 2023).")
    prompt = system_prompt([home], [RecalledMemory(home, 0.9), RecalledMemory(hike, 0.5)],
                           user="Ingrid")
    assert "\n- Ingrid lives in Reykjavik.\n" in prompt
    assert "\n7 May 2023:\nIngrid went hiking (7 May 2023)." in prompt
    assert prompt.count("Reykjavik") == 1


def test_the_memories_are_introduced_as_about_the_user_in_this_chat_by_name() -> None:
    for profile, recalled in (([memory(1, "Ingrid lives in Reykjavik.", "profile")], []),
                              ([], [RecalledMemory(memory(2, "Ingrid went hiking."), 0.5)])):
        section = system_prompt(profile, recalled, user="Ingrid")[len(BOUNDARIES):]
        assert section.startswith(
            "\n\nWhat you know about the user you are talking to (Ingrid); these notes are about "
            "Ingrid, so answer Ingrid's questions about Ingrid with \"you\":\n")


def test_recalled_memories_are_grouped_under_their_day_oldest_day_first() -> None:
    swim = memory(1, "Ingrid swam in the lake.")
    hike = memory(2, "Ingrid went hiking.")
    earlier = replace(memory(3, "Ingrid moved to Reykjavik."),
                      observed_at=datetime(2023, 4, 2, 9, tzinfo=UTC))
    prompt = system_prompt([], [RecalledMemory(m, 0.5) for m in (swim, earlier, hike)],
                           user="Ingrid")
    assert prompt.endswith("\n2 Apr 2023:\nIngrid moved to Reykjavik.\n"
                           "7 May 2023:\nIngrid swam in the lake.\nIngrid went hiking.")


def test_a_callers_own_system_message_follows_hearths_prompt() -> None:
    messages = [{"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Hi"}]
    merged = with_system_prompt(messages, "RULES")
    assert merged[0] == {"role": "system", "content": "RULES\n\nAnswer in French."}
    assert merged[1:] == messages[1:]
    assert with_system_prompt(messages[1:], "RULES")[0] == {"role": "system", "content": "RULES"}
