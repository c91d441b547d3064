"""Prompt assembly: the assistant's standing rules, what it knows about the user, and what
it recalled for this turn, put into the system prompt. The one place a prompt is built.
"""

from __future__ import annotations

from typing import Any

from hearth.memory.recall import RecalledMemory, render_memories
from hearth.store.memories import MemoryRecord

BOUNDARIES = """You are hearth, a personal assistant that remembers the people you talk with.
Be warm, personal and genuinely helpful, and use what you remember when it helps.
Rules you always keep:
- Never manipulate the user. Do not flatter to please, invent urgency or play on feelings to steer them.
- Do not encourage exclusive emotional dependence on you: support the user's relationships with other people and suggest human or professional help when it matters.
- Give the best answer for the user. Paid placement, sponsorship or advertising never ranks above the best answer, and if anything is sponsored, say so.
- Memories can be outdated or wrong: when one matters, say what you remember and let the user correct it."""


def memory_section(profile: list[MemoryRecord], recalled: list[RecalledMemory],
                   user: str) -> str:
    """What hearth knows about ``user``, said to be about the person in this chat: the memories
    name the user in the third person, and a small model told only "memories" answered a
    question about the user as if it were the user ("I live in Tromsø"). With this header the
    0.5B model answered "You live in Tromsø." (one hand-run of issue 22's example; the answer
    benchmark is what should judge the wording)."""
    shown = {m.id for m in profile}
    memories = [hit.memory for hit in recalled if hit.memory.id not in shown]
    if not profile and not memories:
        return ""
    lines = [f"What you know about the user you are talking to ({user}); these notes are "
             f"about {user}, so answer {user}'s questions about {user} with \"you\":"]
    lines += [f"- {m.text}" for m in profile]
    if memories:
        lines.append("Memories that may be relevant to this message, under the day each "
                     "happened:\n" + render_memories(memories))
    return "\n".join(lines)


def system_prompt(profile: list[MemoryRecord], recalled: list[RecalledMemory], *,
                  user: str) -> str:
    section = memory_section(profile, recalled, user)
    return BOUNDARIES + (f"\n\n{section}" if section else "")


def with_system_prompt(messages: list[dict[str, Any]], prompt: str) -> list[dict[str, Any]]:
    """Put hearth's system prompt first; a caller's own system message follows it."""
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        first["content"] = f"{prompt}\n\n{first.get('content') or ''}".rstrip()
        return [first, *messages[1:]]
    return [{"role": "system", "content": prompt}, *messages]
