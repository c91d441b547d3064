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
- "for four years" in a present-perfect sentence ("I've known them for four years") began
  four years before the message ("since 2019"); in any other sentence it says how long, not
  when, and gets no date.
- A month or date without a year ("in June", "May 20") is the most recent one when the
  sentence is in the past tense, the coming one when it talks about the future, else the nearer.
- Ranges are half-open: ``[start, end)``.

The modules, one job each: ``session`` (conversation timestamps), ``tense`` (which way a
sentence points), ``periods`` (date ranges and their labels), ``expressions`` (finding time
expressions and what they mean), ``annotate`` (writing absolute dates into statements) and
``time_filter`` (the range a question asks about).
"""

from hearth.memory.dates.annotate import resolve_relative_dates, without_written_dates
from hearth.memory.dates.session import parse_session_time
from hearth.memory.dates.tense import sentence_tense
from hearth.memory.dates.time_filter import parse_time_filter

__all__ = ["parse_session_time", "parse_time_filter", "resolve_relative_dates", "sentence_tense",
           "without_written_dates"]
