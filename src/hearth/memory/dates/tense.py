"""Which way a sentence points in time (past, future, or cannot tell): what an undated
"Friday" or "June" in it means."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?]\s")

# Tense is judged from words, not a regular expression: this runs for every sentence.
_TENSE_TOKEN = re.compile(r"[a-z']+")
_FUTURE_WORDS = frozenset(
    "will won't shall gonna planning intend wanna next tomorrow upcoming soon scheduled".split())
_FUTURE_PHRASES = (
    "going to", "plan to", "plans to", "plan on", "hope to", "hoping to", "want to", "can't wait",
    "cannot wait", "looking forward", "excited for", "excited about", "about to", "coming up",
    "this coming", "'ll ",
)
_PAST_WORDS = frozenset("""
was were did didn't had went got ago yesterday last took made saw ran met came gave found bought
ate drove flew felt left began brought caught told thought won lost wrote spent sent built heard
held kept paid sold taught wore swam sang rode fell became chose forgot grew knew led slept spoke
stood threw understood woke said
""".split())
# -ed words that are adjectives or present tense, so they say nothing about the past.
_NOT_PAST = frozenset("""
need feed bed red seed speed excited interested tired married engaged scared worried bored
stressed thrilled pleased obsessed overwhelmed amazed blessed inspired motivated determined
focused relaxed pumped stoked called named based related involved supposed used exhausted
dedicated committed prepared organized organised talented limited advanced detailed complicated
united hundred kindred sacred wicked naked
""".split())


def sentence_tense(sentence: str) -> str | None:
    """'past', 'future' or None (cannot tell): which way an undated "Friday" or "June" points.

    Future markers ("will", "going to", "next" …) win over past ones ("went", "-ed" …); a
    present progressive ("I'm running on Sunday") counts as future.
    """
    low = sentence.lower().replace("\u2019", "'")
    tokens = _TENSE_TOKEN.findall(low)
    if not _FUTURE_WORDS.isdisjoint(tokens) or any(p in low for p in _FUTURE_PHRASES) or (
            low.endswith("'ll")):
        return "future"
    for token in tokens:
        if token in _PAST_WORDS or (
                len(token) > 4 and token.endswith("ed") and token not in _NOT_PAST):
            return "past"
    for before, after in zip(tokens, tokens[1:]):
        if (before in ("am", "are", "is") or before.endswith(("'m", "'re"))) and after.endswith(
                "ing") and after not in ("being", "feeling"):
            return "future"
    return None


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], found cheaply by the nearest full stops."""
    left = max(text.rfind(mark, 0, start) for mark in (". ", "! ", "? "))
    right_match = _SENTENCE_END.search(text, end)
    return text[left + 1:right_match.start() + 1 if right_match else len(text)]
