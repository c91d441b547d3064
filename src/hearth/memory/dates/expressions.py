"""Time expressions found in text ("yesterday", "last June", "two weeks ago", "8 May 2023")
and what each one means on the day it was said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hearth.memory.dates.periods import (
    FEW_DAYS,
    RECENT,
    Period,
    choose,
    count_in,
    day_label,
    day_period,
    monday_of,
    month_in,
    month_period,
    numbers_in,
    season_period,
    shifted,
    unit_in,
    vague_period,
    weekday_in,
    weekend_period,
    year_period,
)
from hearth.memory.dates.tense import sentence_around, sentence_tense

_MONTH_RE = (
    r"(?:january|february|march|april|(?-i:May)|june|july|august|september|october|"
    r"november|december)"
)
_MONTH_ANY_RE = rf"(?:{_MONTH_RE}|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?)"
_DAY_RE = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR_RE = r"(?:19|20)\d{2}"
_WEEKDAY_RE = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
# "sat" and "sun" are words too, so their short forms need the full stop.
_WEEKDAY_ANY_RE = rf"(?:{_WEEKDAY_RE}|(?:mon|tues?|wed|thur?s?|fri)\.?|(?:sat|sun)\.)"
NUM_RE = (
    r"(?:\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)"
)
UNIT_RE = r"(?:day|week|month|year)s?"
_PART_RE = r"(?:\s+(?:morning|afternoon|evening|night))?"
_RELATIVE = r"(?:last|this|next|this\s+past|this\s+coming|coming)"
_END = r"(?=\s*(?:[.,;:!?)\-]|$))"

# One alternative per kind of expression; the group name says which, _meaning() says what.
_PATTERNS = {
    "iso": r"\b\d{4}-\d{2}-\d{2}\b",
    "day_month": rf"\b(?:the\s+)?{_DAY_RE}\s+(?:of\s+)?{_MONTH_ANY_RE}(?:,?\s+{_YEAR_RE})?\b",
    "month_day": (
        rf"\b{_MONTH_ANY_RE}\s+(?:the\s+)?{_DAY_RE}(?!\d|:|\s*(?:%|am\b|pm\b))"
        rf"(?:,?\s+{_YEAR_RE})?\b"
    ),
    "month_year": rf"\b{_MONTH_ANY_RE}\s+(?:of\s+)?{_YEAR_RE}\b",
    "relative_month": rf"\b{_RELATIVE}\s+{_MONTH_RE}\b",
    "in_month": (
        r"\b(?:in|during|since|until|by|back\s+in)\s+"
        r"(?:(?:early|mid|late|the\s+(?:beginning|start|middle|end)\s+of)[\s-]+)?"
        rf"{_MONTH_RE}\b(?!\s*,?\s*(?:of\s+)?{_YEAR_RE}|\s+(?:the\s+)?\d)"
    ),
    "year": rf"\b(?:in|since|during|back\s+in|from|until|by)\s+{_YEAR_RE}\b",
    "day_before_yesterday": r"\bthe\s+day\s+before\s+yesterday\b",
    "day_word": (  # not the idiom "feels like (just) yesterday"
        rf"\b(?<!like\s)(?<!like\sjust\s)(?:(?:yesterday|tomorrow){_PART_RE}|last\s+night|"
        r"tonight|earlier\s+today|today|this\s+(?:morning|afternoon|evening))\b"
    ),
    "relative_weekday": rf"\b{_RELATIVE}\s+{_WEEKDAY_ANY_RE}(?![a-z]){_PART_RE}",
    "on_weekday": (
        rf"\b(?:on\s+{_WEEKDAY_RE}(?!s){_PART_RE}\b|"
        rf"{_WEEKDAY_RE}\s+(?:morning|afternoon|evening|night)\b)"
    ),
    "weekend": rf"\b(?:{_RELATIVE}|over\s+the|during\s+the)\s+weekend\b(?!s)",
    "relative_unit": rf"\b{_RELATIVE}\s+(?:week|month|year)\b",
    "unit_before": rf"\bthe\s+(?:week|month|year)\s+before(?:\s+last\b|{_END})",
    "ago": rf"\b{NUM_RE}\s+{UNIT_RE}\s+ago\b",
    "from_now": (
        rf"\b(?:in\s+(?:about\s+|around\s+|another\s+)?{NUM_RE}\s+{UNIT_RE}\b(?!\s+ago)|"
        rf"{NUM_RE}\s+{UNIT_RE}\s+from\s+now\b)"
    ),
    # "for four years", read only in a present-perfect sentence (``_PERFECT``): "I've known
    # them for four years" started four years ago; "I played for four years" says not when.
    "duration": (
        rf"\bfor\s+(?:about\s+|around\s+|nearly\s+|almost\s+|over\s+)?{NUM_RE}\s+{UNIT_RE}\b"
        r"(?!\s+(?:ago|from\s+now))"
    ),
    "rolling": (
        rf"\b(?:(?:the\s+)?past\s+(?:{NUM_RE}\s+)?{UNIT_RE}|"
        rf"(?:the\s+)?last\s+{NUM_RE}\s+{UNIT_RE})\b"
    ),
    "season": (
        rf"\b(?:{_RELATIVE}|in\s+the|over\s+the|during\s+the)\s+"
        r"(?:spring|summer|fall|autumn|winter)\b"
    ),
    "recent": r"\b(?:recently|lately|the\s+other\s+day)\b",
}
_EXPRESSIONS = re.compile("|".join(f"(?P<{name}>{body})" for name, body in _PATTERNS.items()), re.I)
# Every expression above contains one of these words (or a number); checked on lower case.
_TRIGGER = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|night|weeks?|weekends?|months?|years?|days?|ago|"
    r"recently|lately|spring|summer|fall|autumn|winter|morning|afternoon|evening|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thur?s?|fri|sat|sun|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|"
    r"apr|jun|jul|aug|sept?|oct|nov|dec|\d+(?:st|nd|rd|th)?)\b"
)


# A present-perfect verb: "have known", "'ve been", "has had", "have lived".
_PERFECT = re.compile(r"(?:\b(?:have|has)|'ve)\s+(?:\w+ly\s+)?(?:been|had|known|\w+ed)\b", re.I)


def _meaning(kind: str, phrase: str, today: date, tense: str | None,
             sentence: str = "") -> Period | None:
    low = phrase.lower()
    words = low.split()
    if kind == "iso":
        y, m, d = numbers_in(phrase)
        return day_period(date(y, m, d), label=False)
    if kind in ("day_month", "month_day"):
        month = month_in(phrase)
        numbers = numbers_in(phrase)
        day_number = numbers[0]
        if len(numbers) > 1:
            return day_period(date(numbers[1], month, day_number), label=False)
        candidates = []
        for year in (today.year - 1, today.year, today.year + 1):
            try:
                candidates.append(date(year, month, day_number))
            except ValueError:
                continue
        if not candidates:
            return None
        return day_period(choose(candidates, today, tense))
    if kind == "month_year":
        return month_period(numbers_in(phrase)[0], month_in(phrase), label=False)
    if kind == "relative_month":
        month = month_in(phrase)
        if words[0] == "last" or "past" in words:
            year = today.year if month < today.month else today.year - 1
        elif words[0] == "next" or "coming" in words:
            year = today.year if month > today.month else today.year + 1
        else:
            year = today.year
        return month_period(year, month)
    if kind == "in_month":
        month = month_in(phrase)
        candidates = [date(today.year + k, month, 1) for k in (-1, 0, 1)]
        this_month = date(today.year, today.month, 1)
        if low.startswith(("since", "back")):  # "since March" is never a March to come
            tense = "past"
        chosen = choose(candidates, this_month, tense)
        return month_period(chosen.year, chosen.month)
    if kind == "year":
        return year_period(numbers_in(phrase)[0], label=False)
    if kind == "day_before_yesterday":
        return day_period(today - timedelta(days=2))
    if kind == "day_word":
        if low.startswith("yesterday") or low.startswith("last"):
            return day_period(today - timedelta(days=1))
        if low.startswith("tomorrow"):
            return day_period(today + timedelta(days=1))
        return day_period(today)
    if kind == "relative_weekday":
        weekday = weekday_in(phrase)
        if words[0] == "last" or "past" in words:
            back = (today.weekday() - weekday) % 7 or 7
            return day_period(today - timedelta(days=back))
        ahead = (weekday - today.weekday()) % 7
        if words[0] == "next":
            target = today + timedelta(days=ahead or 7)
            if monday_of(target) == monday_of(today):
                target += timedelta(days=7)
            return day_period(target)
        if "coming" in words:
            return day_period(today + timedelta(days=ahead or 7))
        if tense == "past":
            return day_period(today - timedelta(days=(today.weekday() - weekday) % 7))
        return day_period(today + timedelta(days=ahead))
    if kind == "on_weekday":
        weekday = weekday_in(phrase)
        back = today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
        ahead = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        # Without a past-tense verb "on Friday" is nearly always a plan.
        return day_period(ahead if tense != "past" else back)
    if kind == "weekend":
        this_saturday = monday_of(today) + timedelta(days=5)
        last_saturday = this_saturday - timedelta(days=7)
        if words[0] == "last" or "past" in words:
            return weekend_period(last_saturday)
        if words[0] == "next":
            return weekend_period(this_saturday + timedelta(days=7))
        if tense == "past" and today < this_saturday:
            return weekend_period(last_saturday)
        return weekend_period(this_saturday)
    if kind == "relative_unit":
        unit = words[-1]
        step = -1 if (words[0] == "last" or "past" in words) else 1 if (
            words[0] == "next" or "coming" in words) else 0
        return shifted(today, unit, step)
    if kind == "unit_before":
        unit = words[1]
        return shifted(today, unit, -2 if words[-1] == "last" else -1)
    if kind == "ago":
        n, vague = count_in(phrase)
        period = shifted(today, unit_in(phrase), -n)
        return vague_period(period) if vague else period
    if kind == "from_now":
        if tense == "past":  # "I read it in one day" is a duration, not a date
            return None
        n, vague = count_in(phrase.lower().replace("in ", " ", 1))
        period = shifted(today, unit_in(phrase), n)
        return vague_period(period) if vague else period
    if kind == "duration":
        if not _PERFECT.search(sentence):
            return None
        n, vague = count_in(phrase.lower().replace("for ", " ", 1))
        unit = unit_in(phrase)
        if unit in ("day", "week"):  # "since 26 May 2023" reads better than a week's label
            began = day_period(today - timedelta(days=n * (7 if unit == "week" else 1)))
        else:
            began = shifted(today, unit, -n)
        label = vague_period(began).label if vague else began.label
        return Period(began.start, today + timedelta(days=1), f"since {label}",
                      began.precision, began.start)
    if kind == "rolling":
        unit = unit_in(phrase)
        n, _ = count_in(phrase)
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * n
        start = today - timedelta(days=days)
        return Period(start, today + timedelta(days=1), f"since {day_label(start)}", RECENT,
                       today)
    if kind == "season":
        name = words[-1]
        occurrences = [season_period(name, today.year + k) for k in (-2, -1, 0, 1)]
        current = next((p for p in occurrences if p.start <= today < p.end), None)
        ended = [p for p in occurrences if p.end <= today]
        upcoming = [p for p in occurrences if p.start > today]
        if words[0] == "last" or "past" in words:
            return ended[-1]
        if words[0] == "next":
            return upcoming[0]
        if current is not None:
            return current
        if tense == "past" or (tense is None and words[0] != "this"):
            return ended[-1]
        return upcoming[0]
    if kind == "recent":
        if "other" in words:
            d = today - timedelta(days=3)
            return Period(d, today, f"a few days before {day_label(today)}", FEW_DAYS, d)
        start = today - timedelta(days=30)
        return Period(start, today + timedelta(days=1), f"shortly before {day_label(today)}",
                       RECENT, today)
    return None


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    period: Period


def _windows(text: str) -> list[tuple[int, int]]:
    """Stretches of text around trigger words: the only places an expression can be.

    Scanning the whole expression pattern over every character is the slow part of this
    module, and most sentences name no time at all.
    """
    windows: list[tuple[int, int]] = []
    for trigger in _TRIGGER.finditer(text.lower()):
        start, end = max(0, trigger.start() - 48), trigger.end() + 40
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def find_mentions(text: str, said_at: datetime) -> list[Mention]:
    today = said_at.date()
    found: list[Mention] = []
    for window_start, window_end in _windows(text):
        for match in _EXPRESSIONS.finditer(text, window_start, window_end):
            if found and match.start() < found[-1].end:
                continue
            mention = _mention(match, text, today)
            if mention is not None:
                found.append(mention)
    return found


def _mention(match: re.Match[str], text: str, today: date) -> Mention | None:
    kind = match.lastgroup
    assert kind is not None
    sentence = sentence_around(text, match.start(), match.end())
    tense = sentence_tense(sentence)
    try:
        period = _meaning(kind, match.group(), today, tense, sentence.replace("\u2019", "'"))
    except (ValueError, IndexError):  # "February 30", or a phrase too odd to read
        return None
    return None if period is None else Mention(match.start(), match.end(), period)


def as_datetime(d: date, like: datetime) -> datetime:
    return datetime.combine(d, time(0), tzinfo=like.tzinfo or UTC)
