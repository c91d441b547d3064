"""Absolute dates written into a statement after its relative ones, so that a memory keeps
its meaning after the day it was said: "yesterday" becomes "yesterday (7 May 2023)"."""

from __future__ import annotations

import re
from datetime import datetime

from hearth.memory.dates.expressions import Mention, as_datetime, find_mentions

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
    used: list[Mention] = []
    position = 0
    skip_until = -1
    for mention in find_mentions(text, said_at):
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
    return "".join(pieces), as_datetime(best.period.anchor, said_at)


# What ``resolve_relative_dates`` writes in: a space and a bracketed label that ends in a year
# ("(7 May 2023)", "(week of 26 June 2023)", "(winter 2023/2024)").
_WRITTEN_DATE = re.compile(r" \([^()]*\b\d{4}\)")


def without_written_dates(text: str) -> str:
    """``text`` without the dates ``resolve_relative_dates`` wrote into it (and any other
    bracketed aside ending in a year, which is a date written in the same way): the statement
    as it was said, "yesterday" and all."""
    return _WRITTEN_DATE.sub("", text)
