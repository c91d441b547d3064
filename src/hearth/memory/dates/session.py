"""Conversation timestamps ("1:56 pm on 8 May, 2023", ISO 8601) as aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hearth.memory.dates.periods import MONTH_NUMBER

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
        month = MONTH_NUMBER.get(match["month"].lower())
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
