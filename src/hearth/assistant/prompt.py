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


def memory_section(profile: list[MemoryRecord], recalled: list[RecalledMemory]) -> str:
    parts = []
    if profile:
        parts.append("About this user:\n" + "\n".join(f"- {m.text}" for m in profile))
    shown = {m.id for m in profile}
    memories = [hit.memory for hit in recalled if hit.memory.id not in shown]
    if memories:
        parts.append("Memories that may be relevant to this message, under the day each "
                     "happened:\n" + render_memories(memories))
    return "\n\n".join(parts)


def system_prompt(profile: list[MemoryRecord], recalled: list[RecalledMemory]) -> str:
    section = memory_section(profile, recalled)
    return BOUNDARIES + (f"\n\n{section}" if section else "")


def with_system_prompt(messages: list[dict[str, Any]], prompt: str) -> list[dict[str, Any]]:
    """Put hearth's system prompt first; a caller's own system message follows it."""
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        first["content"] = f"{prompt}\n\n{first.get('content') or ''}".rstrip()
        return [first, *messages[1:]]
    return [{"role": "system", "content": prompt}, *messages]
