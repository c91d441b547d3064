"""Dates in what people say: session timestamps, relative expressions, time filters.

Memories must keep meaning after the day they were said, so "yesterday" is stored as
"yesterday (7 May 2023)", and recall turns "what did I do last month" into a date range.
Everything here is plain regular expressions over English text; nothing is guessed by a model.

Conventions, so results are predictable:
- Weeks start on Monday; "last week" is the calendar week before the one containing the
  message, "the weekend" is its Saturday and Sunday.
- "last Friday" is the most recent Friday before the day of the message; "this Friday" is the
  one in the coming seven days (or the past seven, when the sentence is in the past tense);
  "next Friday" is the first Friday after today that lies outside the current week; "on Friday"
  is the previous one in a past-tense sentence, else the coming one.
- "last month" is the calendar month before; "N days/weeks/months/years ago" counts back from
  the message day; "recently" stays vague ("shortly before 8 May 2023").
- A month or date without a year ("in June", "May 20") is the most recent one when the
  sentence is in the past tense, the coming one when it talks about the future, else the nearer.
- Ranges are half-open: ``[start, end)``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

__all__ = ["parse_session_time", "resolve_relative_dates", "parse_time_filter", "sentence_tense"]

_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS)}
_MONTH_NUMBER.update({name[:3]: i + 1 for i, name in enumerate(_MONTHS)})
_MONTH_NUMBER["sept"] = 9
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_NUMBER = {name: i for i, name in enumerate(_WEEKDAYS)}
_WEEKDAY_NUMBER.update({"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3,
                        "thurs": 3, "fri": 4, "sat": 5, "sun": 6})
_SEASON_START = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30,
}
# Vague quantities: the number used for arithmetic; the label then says "around".
_VAGUE_NUMBERS = {"couple": 2, "few": 3, "several": 3}

# Precision ranks: the most precise expression in a statement gives its event time.
_DAY, _FEW_DAYS, _WEEKEND, _WEEK, _MONTH, _SEASON, _YEAR, _RECENT = range(8)


@dataclass(frozen=True)
class _Period:
    """What one expression means: a half-open date range and how to write it down."""

    start: date
    end: date
    label: str | None  # None: the expression is already absolute, nothing to add
    precision: int
    anchor: date  # the single best date for "when did it happen"


# ---------------------------------------------------------------------------------------------
# Session timestamps

_SESSION_TIME = re.compile(
    r"^\s*(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?\s*"
    r"(?:on\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})\s*$",
    re.I,
)
_SESSION_TIME_MDY = re.compile(
    r"^\s*(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?\s*"
    r"(?:on\s+)?(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\s*$",
    re.I,
)


def parse_session_time(text: str) -> datetime:
    """Parse a conversation timestamp into an aware UTC datetime.

    Accepts LoCoMo's "1:56 pm on 8 May, 2023" (also "May 8, 2023" order and 24-hour times)
    and ISO 8601 ("2023-05-08T13:56:00Z"; a naive ISO time is taken as UTC).
    Raises ValueError saying which forms are accepted when the text is neither.
    """
    match = _SESSION_TIME.match(text) or _SESSION_TIME_MDY.match(text)
    if match:
        month = _MONTH_NUMBER.get(match["month"].lower())
        hour, minute = int(match["hour"]), int(match["minute"] or 0)
        ampm = (match["ampm"] or "").lower().replace(".", "")
        if ampm == "pm" and hour != 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        if month is not None:
            try:
                return datetime(int(match["year"]), month, int(match["day"]), hour, minute,
                                tzinfo=UTC)
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a real date and time: {exc}") from None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"Cannot read the time {text!r}: use '1:56 pm on 8 May, 2023' or ISO 8601 "
            "such as '2023-05-08T13:56:00Z'."
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Finding expressions

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
_NUM_RE = (
    r"(?:\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)"
)
_UNIT_RE = r"(?:day|week|month|year)s?"
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
    "ago": rf"\b{_NUM_RE}\s+{_UNIT_RE}\s+ago\b",
    "from_now": (
        rf"\b(?:in\s+(?:about\s+|around\s+|another\s+)?{_NUM_RE}\s+{_UNIT_RE}\b(?!\s+ago)|"
        rf"{_NUM_RE}\s+{_UNIT_RE}\s+from\s+now\b)"
    ),
    "rolling": (
        rf"\b(?:(?:the\s+)?past\s+(?:{_NUM_RE}\s+)?{_UNIT_RE}|"
        rf"(?:the\s+)?last\s+{_NUM_RE}\s+{_UNIT_RE})\b"
    ),
    "season": (
        rf"\b(?:{_RELATIVE}|in\s+the|over\s+the|during\s+the)\s+"
        r"(?:spring|summer|fall|autumn|winter)\b"
    ),
    "recent": r"\b(?:recently|lately|the\s+other\s+day)\b",
}
_EXPRESSIONS = re.compile("|".join(f"(?P<{name}>{body})" for name, body in _PATTERNS.items()), re.I)

_WORD = re.compile(r"[a-z]+|\d+", re.I)
_DIGITS = re.compile(r"\d+")
# Every expression above contains one of these words (or a number); checked on lower case.
_TRIGGER = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|night|weeks?|weekends?|months?|years?|days?|ago|"
    r"recently|lately|spring|summer|fall|autumn|winter|morning|afternoon|evening|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thur?s?|fri|sat|sun|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|"
    r"apr|jun|jul|aug|sept?|oct|nov|dec|\d+(?:st|nd|rd|th)?)\b"
)
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


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], found cheaply by the nearest full stops."""
    left = max(text.rfind(mark, 0, start) for mark in (". ", "! ", "? "))
    right_match = _SENTENCE_END.search(text, end)
    return text[left + 1:right_match.start() + 1 if right_match else len(text)]


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic and labels


def _day_label(d: date) -> str:
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def _month_label(year: int, month: int) -> str:
    return f"{calendar.month_name[month]} {year}"


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _day(d: date, label: bool = True) -> _Period:
    return _Period(d, d + timedelta(days=1), _day_label(d) if label else None, _DAY, d)


def _week(d: date) -> _Period:
    monday = _monday(d)
    return _Period(monday, monday + timedelta(days=7), f"week of {_day_label(monday)}", _WEEK,
                   monday)


def _weekend(saturday: date) -> _Period:
    return _Period(saturday, saturday + timedelta(days=2), f"weekend of {_day_label(saturday)}",
                   _WEEKEND, saturday)


def _month(year: int, month: int, label: bool = True) -> _Period:
    start = date(year, month, 1)
    next_year, next_month = _add_months(year, month, 1)
    return _Period(start, date(next_year, next_month, 1),
                   _month_label(year, month) if label else None, _MONTH, start)


def _year(year: int, label: bool = True) -> _Period:
    start = date(year, 1, 1)
    return _Period(start, date(year + 1, 1, 1), str(year) if label else None, _YEAR, start)


def _season(name: str, year: int) -> _Period:
    """The season of that name starting in ``year`` (winter starts in December)."""
    start_month = _SEASON_START[name]
    start = date(year, start_month, 1)
    ey, em = _add_months(year, start_month, 3)
    label = f"{name} {year}/{year + 1}" if name == "winter" else f"{name} {year}"
    return _Period(start, date(ey, em, 1), label, _SEASON, start)


def _choose(candidates: list[date], today: date, tense: str | None) -> date:
    """Pick the past, future or nearest of the candidate dates; today counts as both."""
    past = [d for d in candidates if d <= today]
    future = [d for d in candidates if d >= today]
    if tense == "past" and past:
        return max(past)
    if tense == "future" and future:
        return min(future)
    return min(candidates, key=lambda d: (abs((d - today).days), d > today))


def _count(words: str) -> tuple[int, bool]:
    """The number in "two weeks", "a few days", "3 months": (value, is it vague)."""
    found = _WORD.findall(words.lower())
    for word in found:
        if word in _VAGUE_NUMBERS:
            return _VAGUE_NUMBERS[word], True
    for word in found:
        if word.isdigit():
            return int(word), False
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word], False
    return 1, False


def _unit(words: str) -> str:
    for unit in ("day", "week", "month", "year"):
        if unit in words.lower():
            return unit
    return "day"


def _shift(today: date, unit: str, n: int) -> _Period:
    """The day, week, month or year ``n`` units from today (negative: in the past)."""
    if unit == "day":
        return _day(today + timedelta(days=n))
    if unit == "week":
        return _week(today + timedelta(weeks=n))
    if unit == "month":
        return _month(*_add_months(today.year, today.month, n))
    return _year(today.year + n)


def _vague(period: _Period) -> _Period:
    precision = _FEW_DAYS if period.precision == _DAY else period.precision
    article = "the " if period.precision == _WEEK else ""
    return _Period(period.start, period.end, f"around {article}{period.label}", precision,
                   period.anchor)


def _weekday_in(text: str) -> int:
    for word in _WORD.findall(text.lower()):
        if word in _WEEKDAY_NUMBER:
            return _WEEKDAY_NUMBER[word]
    raise ValueError(text)


def _month_in(text: str) -> int:
    for word in _WORD.findall(text.lower()):
        if word in _MONTH_NUMBER:
            return _MONTH_NUMBER[word]
    raise ValueError(text)


def _numbers(text: str) -> list[int]:
    return [int(n) for n in _DIGITS.findall(text)]


# ---------------------------------------------------------------------------------------------
# Meaning of each kind of expression


def _meaning(kind: str, phrase: str, today: date, tense: str | None) -> _Period | None:
    low = phrase.lower()
    words = low.split()
    if kind == "iso":
        y, m, d = _numbers(phrase)
        return _day(date(y, m, d), label=False)
    if kind in ("day_month", "month_day"):
        month = _month_in(phrase)
        numbers = _numbers(phrase)
        day_number = numbers[0]
        if len(numbers) > 1:
            return _day(date(numbers[1], month, day_number), label=False)
        candidates = []
        for year in (today.year - 1, today.year, today.year + 1):
            try:
                candidates.append(date(year, month, day_number))
            except ValueError:
                continue
        if not candidates:
            return None
        return _day(_choose(candidates, today, tense))
    if kind == "month_year":
        return _month(_numbers(phrase)[0], _month_in(phrase), label=False)
    if kind == "relative_month":
        month = _month_in(phrase)
        if words[0] == "last" or "past" in words:
            year = today.year if month < today.month else today.year - 1
        elif words[0] == "next" or "coming" in words:
            year = today.year if month > today.month else today.year + 1
        else:
            year = today.year
        return _month(year, month)
    if kind == "in_month":
        month = _month_in(phrase)
        candidates = [date(today.year + k, month, 1) for k in (-1, 0, 1)]
        this_month = date(today.year, today.month, 1)
        if low.startswith(("since", "back")):  # "since March" is never a March to come
            tense = "past"
        chosen = _choose(candidates, this_month, tense)
        return _month(chosen.year, chosen.month)
    if kind == "year":
        return _year(_numbers(phrase)[0], label=False)
    if kind == "day_before_yesterday":
        return _day(today - timedelta(days=2))
    if kind == "day_word":
        if low.startswith("yesterday") or low.startswith("last"):
            return _day(today - timedelta(days=1))
        if low.startswith("tomorrow"):
            return _day(today + timedelta(days=1))
        return _day(today)
    if kind == "relative_weekday":
        weekday = _weekday_in(phrase)
        if words[0] == "last" or "past" in words:
            back = (today.weekday() - weekday) % 7 or 7
            return _day(today - timedelta(days=back))
        ahead = (weekday - today.weekday()) % 7
        if words[0] == "next":
            target = today + timedelta(days=ahead or 7)
            if _monday(target) == _monday(today):
                target += timedelta(days=7)
            return _day(target)
        if "coming" in words:
            return _day(today + timedelta(days=ahead or 7))
        if tense == "past":
            return _day(today - timedelta(days=(today.weekday() - weekday) % 7))
        return _day(today + timedelta(days=ahead))
    if kind == "on_weekday":
        weekday = _weekday_in(phrase)
        back = today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
        ahead = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        # Without a past-tense verb "on Friday" is nearly always a plan.
        return _day(ahead if tense != "past" else back)
    if kind == "weekend":
        this_saturday = _monday(today) + timedelta(days=5)
        last_saturday = this_saturday - timedelta(days=7)
        if words[0] == "last" or "past" in words:
            return _weekend(last_saturday)
        if words[0] == "next":
            return _weekend(this_saturday + timedelta(days=7))
        if tense == "past" and today < this_saturday:
            return _weekend(last_saturday)
        return _weekend(this_saturday)
    if kind == "relative_unit":
        unit = words[-1]
        step = -1 if (words[0] == "last" or "past" in words) else 1 if (
            words[0] == "next" or "coming" in words) else 0
        return _shift(today, unit, step)
    if kind == "unit_before":
        unit = words[1]
        return _shift(today, unit, -2 if words[-1] == "last" else -1)
    if kind == "ago":
        n, vague = _count(phrase)
        period = _shift(today, _unit(phrase), -n)
        return _vague(period) if vague else period
    if kind == "from_now":
        if tense == "past":  # "I read it in one day" is a duration, not a date
            return None
        n, vague = _count(phrase.lower().replace("in ", " ", 1))
        period = _shift(today, _unit(phrase), n)
        return _vague(period) if vague else period
    if kind == "rolling":
        unit = _unit(phrase)
        n, _ = _count(phrase)
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * n
        start = today - timedelta(days=days)
        return _Period(start, today + timedelta(days=1), f"since {_day_label(start)}", _RECENT,
                       today)
    if kind == "season":
        name = words[-1]
        occurrences = [_season(name, today.year + k) for k in (-2, -1, 0, 1)]
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
            return _Period(d, today, f"a few days before {_day_label(today)}", _FEW_DAYS, d)
        start = today - timedelta(days=30)
        return _Period(start, today + timedelta(days=1), f"shortly before {_day_label(today)}",
                       _RECENT, today)
    return None


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    period: _Period


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


def _mentions(text: str, said_at: datetime) -> list[_Mention]:
    today = said_at.date()
    found: list[_Mention] = []
    for window_start, window_end in _windows(text):
        for match in _EXPRESSIONS.finditer(text, window_start, window_end):
            if found and match.start() < found[-1].end:
                continue
            mention = _mention(match, text, today)
            if mention is not None:
                found.append(mention)
    return found


def _mention(match: re.Match[str], text: str, today: date) -> _Mention | None:
    kind = match.lastgroup
    assert kind is not None
    tense = sentence_tense(_sentence_around(text, match.start(), match.end()))
    try:
        period = _meaning(kind, match.group(), today, tense)
    except (ValueError, IndexError):  # "February 30", or a phrase too odd to read
        return None
    return None if period is None else _Mention(match.start(), match.end(), period)


def _as_datetime(d: date, like: datetime) -> datetime:
    return datetime.combine(d, time(0), tzinfo=like.tzinfo or UTC)


_POSSESSIVE = re.compile(r"['’]s\b")


def resolve_relative_dates(text: str, said_at: datetime) -> tuple[str, datetime | None]:
    """Write the absolute date after each relative time expression in ``text``.

    Returns the annotated text ("… yesterday (7 May 2023) …", "last month (April 2023)") and
    the best single event time: midnight (in ``said_at``'s zone) of the most precise date
    mentioned, a day beating a week beating a month …, the first winning a tie; None when the
    text names no time. Absolute dates ("8 May 2023", "in 2019") are left as written but still
    give the event time. Running it again on its own output changes nothing.
    """
    pieces: list[str] = []
    used: list[_Mention] = []
    position = 0
    skip_until = -1
    for mention in _mentions(text, said_at):
        if mention.start < skip_until:
            continue  # a date inside an annotation written by an earlier run
        used.append(mention)
        label = mention.period.label
        if label is None:
            continue
        annotation = f" ({label})"
        end = mention.end
        possessive = _POSSESSIVE.match(text, end)
        if possessive:  # "tomorrow's (9 May 2023) opening" reads better than "tomorrow (…)'s"
            end = possessive.end()
        if text.startswith(annotation, end):
            skip_until = end + len(annotation)
            continue
        pieces.append(text[position:end])
        pieces.append(annotation)
        position = end
    if not used:
        return text, None
    pieces.append(text[position:])
    best = min(used, key=lambda m: m.period.precision)
    return "".join(pieces), _as_datetime(best.period.anchor, said_at)


# What ``resolve_relative_dates`` writes in: a space and a bracketed label that ends in a year
# ("(7 May 2023)", "(week of 26 June 2023)", "(winter 2023/2024)").
_WRITTEN_DATE = re.compile(r" \([^()]*\b\d{4}\)")


def without_written_dates(text: str) -> str:
    """``text`` without the dates ``resolve_relative_dates`` wrote into it (and any other
    bracketed aside ending in a year, which is a date written in the same way): the statement
    as it was said, "yesterday" and all."""
    return _WRITTEN_DATE.sub("", text)


_LATELY = re.compile(r"\b(?:these\s+days|of\s+late)\b", re.I)
_SINCE_BEFORE = re.compile(r"\bsince\s+$", re.I)


# "the week before", "two days before", just ahead of a date the question names.
_BEFORE_NAMED = re.compile(rf"\b({_NUM_RE}|the)\s+({_UNIT_RE}|weekend)\s+before\s+$", re.I)


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
    mentions = _mentions(question, now)
    named = next((m for m in mentions if m.period.label is None), None)  # a date written out
    if named is not None:
        as_of = _as_datetime(named.period.start, now)
        until = _as_datetime(named.period.end, now)
        before = _BEFORE_NAMED.search(question, 0, named.start)
        if before:  # "two weeks before" the date is "two weeks ago" on it
            count, unit = before.groups()
            phrase = f"last {unit}" if count.lower() == "the" else f"{count} {unit} ago"
            if phrase.lower() == "last day":
                phrase = "yesterday"
            text, relative = phrase, _mentions(phrase, as_of)
        else:
            text = question
            relative = [m for m in _mentions(question, as_of) if m.period.label is not None]
        if relative:
            return _window(text, relative[0], as_of, until)
    if mentions:
        return _window(question, mentions[0], now, now)
    if _LATELY.search(question):
        return _as_datetime(now.date() - timedelta(days=30), now), now
    return None


def _window(text: str, mention: _Mention, now: datetime,
            until: datetime) -> tuple[datetime, datetime]:
    """The range ``mention`` of ``text`` means; one that runs up to now ends at ``until``."""
    period = mention.period
    start = _as_datetime(period.start, now)
    phrase = text[mention.start:mention.end].lower()
    rolling = period.precision == _RECENT  # "recently", "the past two weeks"
    if rolling or phrase.startswith("since") or _SINCE_BEFORE.search(text, 0, mention.start):
        return start, until
    return start, _as_datetime(period.end, now)
