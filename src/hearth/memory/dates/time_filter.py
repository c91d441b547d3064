"""The date range a recall question asks about ("what did I do last month?")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from hearth.memory.dates.expressions import NUM_RE, UNIT_RE, Mention, as_datetime, find_mentions
from hearth.memory.dates.periods import RECENT

_LATELY = re.compile(r"\b(?:these\s+days|of\s+late)\b", re.I)
_SINCE_BEFORE = re.compile(r"\bsince\s+$", re.I)


# "the week before", "two days before", just ahead of a date the question names.
_BEFORE_NAMED = re.compile(rf"\b({NUM_RE}|the)\s+({UNIT_RE}|weekend)\s+before\s+$", re.I)


def parse_time_filter(question: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The ``[start, end)`` range a recall question asks about, or None if it names no time.

    "last month" → that calendar month; "in 2022" → that year; "yesterday" → that day;
    "recently"/"lately" → the 30 days up to ``now``; "since May" → from May up to ``now``;
    "the past two weeks" → the 14 days up to ``now``. The first time expression decides,
    except that where the question names a date, its other time words count from that date
    instead of from ``now``: "last weekend before April 10, 2023", "recently, as mentioned on
    3 June, 2023", "two weeks before August 11, 2023" (so they find what a message of that
    day said "last weekend" or "two weeks ago" about).
    """
    mentions = find_mentions(question, now)
    named = next((m for m in mentions if m.period.label is None), None)  # a date written out
    if named is not None:
        as_of = as_datetime(named.period.start, now)
        until = as_datetime(named.period.end, now)
        before = _BEFORE_NAMED.search(question, 0, named.start)
        if before:  # "two weeks before" the date is "two weeks ago" on it
            count, unit = before.groups()
            phrase = f"last {unit}" if count.lower() == "the" else f"{count} {unit} ago"
            if phrase.lower() == "last day":
                phrase = "yesterday"
            text, relative = phrase, find_mentions(phrase, as_of)
        else:
            text = question
            relative = [m for m in find_mentions(question, as_of) if m.period.label is not None]
        if relative:
            return _window(text, relative[0], as_of, until)
    if mentions:
        return _window(question, mentions[0], now, now)
    if _LATELY.search(question):
        return as_datetime(now.date() - timedelta(days=30), now), now
    return None


def _window(text: str, mention: Mention, now: datetime,
            until: datetime) -> tuple[datetime, datetime]:
    """The range ``mention`` of ``text`` means; one that runs up to now ends at ``until``."""
    period = mention.period
    start = as_datetime(period.start, now)
    phrase = text[mention.start:mention.end].lower()
    rolling = period.precision == RECENT  # "recently", "the past two weeks"
    if rolling or phrase.startswith("since") or _SINCE_BEFORE.search(text, 0, mention.start):
        return start, until
    return start, as_datetime(period.end, now)
