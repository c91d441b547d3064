"""What a time expression means: a half-open date range, the label written after it, and
how precise it is; plus the calendar arithmetic that builds them (weeks start on Monday)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]
MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS)}
MONTH_NUMBER.update({name[:3]: i + 1 for i, name in enumerate(_MONTHS)})
MONTH_NUMBER["sept"] = 9
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
_DAY, FEW_DAYS, _WEEKEND, _WEEK, _MONTH, _SEASON, _YEAR, RECENT = range(8)


@dataclass(frozen=True)
class Period:
    """What one expression means: a half-open date range and how to write it down."""

    start: date
    end: date
    label: str | None  # None: the expression is already absolute, nothing to add
    precision: int
    anchor: date  # the single best date for "when did it happen"


_WORD = re.compile(r"[a-z]+|\d+", re.I)
_DIGITS = re.compile(r"\d+")


def day_label(d: date) -> str:
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def _month_label(year: int, month: int) -> str:
    return f"{calendar.month_name[month]} {year}"


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def day_period(d: date, label: bool = True) -> Period:
    return Period(d, d + timedelta(days=1), day_label(d) if label else None, _DAY, d)


def _week(d: date) -> Period:
    monday = monday_of(d)
    return Period(monday, monday + timedelta(days=7), f"week of {day_label(monday)}", _WEEK,
                   monday)


def weekend_period(saturday: date) -> Period:
    return Period(saturday, saturday + timedelta(days=2), f"weekend of {day_label(saturday)}",
                   _WEEKEND, saturday)


def month_period(year: int, month: int, label: bool = True) -> Period:
    start = date(year, month, 1)
    next_year, next_month = _add_months(year, month, 1)
    return Period(start, date(next_year, next_month, 1),
                   _month_label(year, month) if label else None, _MONTH, start)


def year_period(year: int, label: bool = True) -> Period:
    start = date(year, 1, 1)
    return Period(start, date(year + 1, 1, 1), str(year) if label else None, _YEAR, start)


def season_period(name: str, year: int) -> Period:
    """The season of that name starting in ``year`` (winter starts in December)."""
    start_month = _SEASON_START[name]
    start = date(year, start_month, 1)
    ey, em = _add_months(year, start_month, 3)
    label = f"{name} {year}/{year + 1}" if name == "winter" else f"{name} {year}"
    return Period(start, date(ey, em, 1), label, _SEASON, start)


def choose(candidates: list[date], today: date, tense: str | None) -> date:
    """Pick the past, future or nearest of the candidate dates; today counts as both."""
    past = [d for d in candidates if d <= today]
    future = [d for d in candidates if d >= today]
    if tense == "past" and past:
        return max(past)
    if tense == "future" and future:
        return min(future)
    return min(candidates, key=lambda d: (abs((d - today).days), d > today))


def count_in(words: str) -> tuple[int, bool]:
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


def unit_in(words: str) -> str:
    for unit in ("day", "week", "month", "year"):
        if unit in words.lower():
            return unit
    return "day"


def shifted(today: date, unit: str, n: int) -> Period:
    """The day, week, month or year ``n`` units from today (negative: in the past)."""
    if unit == "day":
        return day_period(today + timedelta(days=n))
    if unit == "week":
        return _week(today + timedelta(weeks=n))
    if unit == "month":
        return month_period(*_add_months(today.year, today.month, n))
    return year_period(today.year + n)


def vague_period(period: Period) -> Period:
    precision = FEW_DAYS if period.precision == _DAY else period.precision
    article = "the " if period.precision == _WEEK else ""
    return Period(period.start, period.end, f"around {article}{period.label}", precision,
                   period.anchor)


def weekday_in(text: str) -> int:
    for word in _WORD.findall(text.lower()):
        if word in _WEEKDAY_NUMBER:
            return _WEEKDAY_NUMBER[word]
    raise ValueError(text)


def month_in(text: str) -> int:
    for word in _WORD.findall(text.lower()):
        if word in MONTH_NUMBER:
            return MONTH_NUMBER[word]
    raise ValueError(text)


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in _DIGITS.findall(text)]
