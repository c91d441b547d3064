"""Dates in what people say: session timestamps, relative expressions, recall time filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hearth.memory.dates import (
    parse_session_time,
    parse_time_filter,
    resolve_relative_dates,
    without_written_dates,
)

# Monday 8 May 2023, the first LoCoMo session.
MONDAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def day(year: int, month: int, d: int) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


# --- session timestamps ----------------------------------------------------------------------


def test_locomo_session_time_is_parsed_as_aware_utc():
    assert parse_session_time("1:56 pm on 8 May, 2023") == MONDAY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12:09 am on 13 September, 2023", datetime(2023, 9, 13, 0, 9, tzinfo=UTC)),
        ("12:28 pm on 8 November, 2023", datetime(2023, 11, 8, 12, 28, tzinfo=UTC)),
        ("10:37 am on 27 June, 2023", datetime(2023, 6, 27, 10, 37, tzinfo=UTC)),
        ("4:04 pm on May 20, 2023", datetime(2023, 5, 20, 16, 4, tzinfo=UTC)),
    ],
)
def test_session_times_handle_midnight_noon_and_month_first_order(text, expected):
    assert parse_session_time(text) == expected


def test_iso_times_are_converted_to_utc_and_naive_ones_taken_as_utc():
    assert parse_session_time("2023-05-08T15:56:00+02:00") == MONDAY
    assert parse_session_time("2023-05-08T13:56:00Z") == MONDAY
    naive = parse_session_time("2023-05-08T13:56:00")
    assert naive == MONDAY and naive.tzinfo is not None


def test_unreadable_session_time_says_which_forms_are_accepted():
    with pytest.raises(ValueError, match="1:56 pm on 8 May, 2023"):
        parse_session_time("sometime last spring")


# --- relative expressions in statements --------------------------------------------------------


# (said, as annotated, event time) on MONDAY
ANNOTATED = [
    ("I went to a support group yesterday", "I went to a support group yesterday (7 May 2023)",
     day(2023, 5, 7)),
    ("I'm tired today", "I'm tired today (8 May 2023)", day(2023, 5, 8)),
    ("We're going out tonight", "We're going out tonight (8 May 2023)", day(2023, 5, 8)),
    ("The opening is tomorrow", "The opening is tomorrow (9 May 2023)", day(2023, 5, 9)),
    ("I slept badly last night", "I slept badly last night (7 May 2023)", day(2023, 5, 7)),
    ("I joined a gym last week", "I joined a gym last week (week of 1 May 2023)",
     day(2023, 5, 1)),
    ("It's busy this week", "It's busy this week (week of 8 May 2023)", day(2023, 5, 8)),
    ("I'll call next week", "I'll call next week (week of 15 May 2023)", day(2023, 5, 15)),
    ("We went hiking last weekend", "We went hiking last weekend (weekend of 6 May 2023)",
     day(2023, 5, 6)),
    ("We'll camp next weekend", "We'll camp next weekend (weekend of 20 May 2023)",
     day(2023, 5, 20)),
    ("I started boot camp last month", "I started boot camp last month (April 2023)",
     day(2023, 4, 1)),
    ("I'm having an art show next month",
     "I'm having an art show next month (June 2023)", day(2023, 6, 1)),
    ("I painted that last year", "I painted that last year (2022)", day(2022, 1, 1)),
    ("I'll graduate next year", "I'll graduate next year (2024)", day(2024, 1, 1)),
    ("I got a puppy 3 days ago", "I got a puppy 3 days ago (5 May 2023)", day(2023, 5, 5)),
    ("I got a puppy two weeks ago", "I got a puppy two weeks ago (week of 24 April 2023)",
     day(2023, 4, 24)),
    ("We moved 2 months ago", "We moved 2 months ago (March 2023)", day(2023, 3, 1)),
    ("I started transitioning three years ago",
     "I started transitioning three years ago (2020)", day(2020, 1, 1)),
    ("I met her a few days ago", "I met her a few days ago (around 5 May 2023)",
     day(2023, 5, 5)),
    ("I flew there the week before.", "I flew there the week before (week of 1 May 2023).",
     day(2023, 5, 1)),
    ("It was the week before last", "It was the week before last (week of 24 April 2023)",
     day(2023, 4, 24)),
    ("I made a peach cobbler recently",
     "I made a peach cobbler recently (shortly before 8 May 2023)", day(2023, 5, 8)),
]


@pytest.mark.parametrize(("text", "annotated", "event"), ANNOTATED)
def test_relative_expression_gets_its_absolute_date(text, annotated, event):
    assert resolve_relative_dates(text, MONDAY) == (annotated, event)


@pytest.mark.parametrize(
    ("text", "annotated"),
    [
        ("I ran a race last Saturday", "I ran a race last Saturday (6 May 2023)"),
        ("My car broke down last Fri", "My car broke down last Fri (5 May 2023)"),
        ("It was fun last Monday", "It was fun last Monday (1 May 2023)"),
        ("I'm meeting her this Friday", "I'm meeting her this Friday (12 May 2023)"),
        ("Let's meet next Friday", "Let's meet next Friday (19 May 2023)"),
        ("Let's meet next Sunday", "Let's meet next Sunday (21 May 2023)"),
        ("I went to the beach on Sunday", "I went to the beach on Sunday (7 May 2023)"),
        ("I have a dentist appointment on Thursday",
         "I have a dentist appointment on Thursday (11 May 2023)"),
        ("We watched a movie on Saturday night",
         "We watched a movie on Saturday night (6 May 2023)"),
    ],
)
def test_weekdays_point_back_or_ahead_by_the_word_before_them_and_the_tense(text, annotated):
    assert resolve_relative_dates(text, MONDAY)[0] == annotated


@pytest.mark.parametrize(
    ("text", "annotated"),
    [
        ("We got married in June", "We got married in June (June 2022)"),
        ("I'm going to Spain in June", "I'm going to Spain in June (June 2023)"),
        ("I visited Rome in March", "I visited Rome in March (March 2023)"),
        ("My exam is on May 20", "My exam is on May 20 (20 May 2023)"),
        ("My exam is on May 20th", "My exam is on May 20th (20 May 2023)"),
        ("I quit on 3 April", "I quit on 3 April (3 April 2023)"),
        ("We met on December 24 and fell in love",
         "We met on December 24 (24 December 2022) and fell in love"),
    ],
)
def test_month_without_a_year_takes_the_year_the_tense_implies(text, annotated):
    assert resolve_relative_dates(text, MONDAY)[0] == annotated


@pytest.mark.parametrize(
    ("said_at", "text", "annotated"),
    [
        (datetime(2023, 1, 2, 9, tzinfo=UTC), "I quit last month",
         "I quit last month (December 2022)"),
        (datetime(2023, 1, 1, 9, tzinfo=UTC), "I quit last week",
         "I quit last week (week of 19 December 2022)"),
        (datetime(2022, 12, 20, 9, tzinfo=UTC), "We move next month",
         "We move next month (January 2023)"),
        (datetime(2024, 3, 1, 9, tzinfo=UTC), "I flew home yesterday",
         "I flew home yesterday (29 February 2024)"),
        (datetime(2022, 12, 31, 9, tzinfo=UTC), "The party is tomorrow",
         "The party is tomorrow (1 January 2023)"),
        (datetime(2023, 1, 15, 9, tzinfo=UTC), "I went skiing in December",
         "I went skiing in December (December 2022)"),
        (datetime(2023, 3, 31, 9, tzinfo=UTC), "I moved a month ago",
         "I moved a month ago (February 2023)"),
    ],
)
def test_dates_cross_month_and_year_boundaries(said_at, text, annotated):
    assert resolve_relative_dates(text, said_at)[0] == annotated


def test_absolute_dates_are_left_alone_but_give_the_event_time():
    text = "We adopted Max on 5 March, 2013 and got Luna in 2019."
    assert resolve_relative_dates(text, MONDAY) == (text, day(2013, 3, 5))


def test_the_most_precise_expression_gives_the_event_time():
    text, event = resolve_relative_dates(
        "I've been running since last year and yesterday I ran 10k", MONDAY)
    assert text == "I've been running since last year (2022) and yesterday (7 May 2023) I ran 10k"
    assert event == day(2023, 5, 7)


def test_text_without_a_time_expression_is_unchanged_and_has_no_event_time():
    text = "I love painting sunsets; maybe I'll show you some."
    assert resolve_relative_dates(text, MONDAY) == (text, None)


def test_resolving_twice_adds_nothing():
    once, event = resolve_relative_dates("Last week I went hiking and recently I painted", MONDAY)
    assert resolve_relative_dates(once, MONDAY) == (once, event)


def test_possessive_expression_keeps_the_possessive_next_to_the_word():
    text, _ = resolve_relative_dates("Can't wait for tomorrow's grand opening!", MONDAY)
    assert text == "Can't wait for tomorrow's (9 May 2023) grand opening!"


def test_modal_may_and_idioms_are_not_dates():
    assert resolve_relative_dates("I may 20 people invite", MONDAY)[1] is None
    assert resolve_relative_dates("It feels like just yesterday we met", MONDAY)[1] is None
    assert resolve_relative_dates("I go hiking on Sundays", MONDAY)[1] is None


@pytest.mark.parametrize(("text", "annotated", "event"), [
    *ANNOTATED,
    ("Can't wait for tomorrow's grand opening!",
     "Can't wait for tomorrow's (9 May 2023) grand opening!", None),
    ("We ski this winter", "We ski this winter (winter 2023/2024)", None),
    ("I ran 10k yesterday and 5k last week.",
     "I ran 10k yesterday (7 May 2023) and 5k last week (week of 1 May 2023).", None),
])
def test_the_written_dates_come_out_again_leaving_what_was_said(text, annotated, event):
    assert without_written_dates(annotated) == text


def test_dates_follow_the_time_zone_of_the_message():
    evening_in_tokyo = datetime(2023, 5, 8, 23, 30, tzinfo=timezone(timedelta(hours=9)))
    text, event = resolve_relative_dates("I went yesterday", evening_in_tokyo)
    assert text == "I went yesterday (7 May 2023)"
    assert event is not None and event.utcoffset() == timedelta(hours=9)


# --- time filters for recall ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What did I do last month?", day(2023, 4, 1), day(2023, 5, 1)),
        ("What did I do in May 2023?", day(2023, 5, 1), day(2023, 6, 1)),
        ("Where did I travel in 2022?", day(2022, 1, 1), day(2023, 1, 1)),
        ("What did I eat last week?", day(2023, 5, 1), day(2023, 5, 8)),
        ("Who did I meet yesterday?", day(2023, 5, 7), day(2023, 5, 8)),
        ("What did I do last weekend?", day(2023, 5, 6), day(2023, 5, 8)),
        ("What happened in April?", day(2023, 4, 1), day(2023, 5, 1)),
        ("What did I do on 3 April 2023?", day(2023, 4, 3), day(2023, 4, 4)),
        ("What have I read this year?", day(2023, 1, 1), day(2024, 1, 1)),
        ("What did I do two weeks ago?", day(2023, 4, 24), day(2023, 5, 1)),
        ("What did I do last Friday?", day(2023, 5, 5), day(2023, 5, 6)),
    ],
)
def test_question_time_reference_becomes_a_half_open_range(question, start, end):
    assert parse_time_filter(question, MONDAY) == (start, end)


def test_recently_means_the_last_thirty_days_up_to_now():
    assert parse_time_filter("What have I been up to recently?", MONDAY) == (
        day(2023, 4, 8), MONDAY)
    assert parse_time_filter("What have I been cooking lately?", MONDAY) == (
        day(2023, 4, 8), MONDAY)


def test_since_and_rolling_windows_end_now():
    assert parse_time_filter("What have I done since March?", MONDAY) == (day(2023, 3, 1), MONDAY)
    assert parse_time_filter("What did I cook in the past two weeks?", MONDAY) == (
        day(2023, 4, 24), MONDAY)


def test_since_a_month_points_back_even_half_a_year_on():
    september = datetime(2023, 9, 1, tzinfo=UTC)  # March 2023 and March 2024 equally far
    assert parse_time_filter("What have I done since March?", september) == (
        day(2023, 3, 1), september)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What did I do last weekend before April 10, 2023?", day(2023, 4, 8), day(2023, 4, 10)),
        ("What did I start recently, as mentioned on 3 June, 2023?",
         day(2023, 5, 4), day(2023, 6, 4)),
        ("What did I do the week before August 3, 2023?", day(2023, 7, 24), day(2023, 7, 31)),
        ("Which puppy did I get two weeks before August 11, 2023?",
         day(2023, 7, 24), day(2023, 7, 31)),
        ("Where was I the day before 3 May 2023?", day(2023, 5, 2), day(2023, 5, 3)),
        ("What did I do the weekend before 16 May 2023?", day(2023, 5, 13), day(2023, 5, 15)),
    ],
)
def test_time_words_count_from_a_date_the_question_names(question, start, end):
    # Asked months later: "last weekend" is the one before April 10, not before now.
    assert parse_time_filter(question, datetime(2023, 11, 20, tzinfo=UTC)) == (start, end)


def test_question_without_a_time_reference_has_no_filter():
    assert parse_time_filter("What is my favourite colour?", MONDAY) is None
    assert parse_time_filter("When did I adopt my dog?", MONDAY) is None


@pytest.mark.parametrize(("text", "annotated", "event"), [
    ("I've known these friends for 4 years.",
     "I've known these friends for 4 years (since 2019).", date(2019, 1, 1)),
    ("We have been dating for a few months now.",
     "We have been dating for a few months (since around February 2023) now.",
     date(2023, 2, 1)),
    ("I have lived here for two weeks.", "I have lived here for two weeks (since 24 April 2023).",
     date(2023, 4, 24)),
])
def test_a_duration_up_to_now_says_since_when(text, annotated, event):
    resolved, when = resolve_relative_dates(text, MONDAY)
    assert resolved == annotated
    assert when.date() == event


@pytest.mark.parametrize("text", ["I played the cello for 4 years.",
                                  "I'll stay with them for two weeks."])
def test_a_duration_that_does_not_reach_now_gives_no_date(text):
    assert resolve_relative_dates(text, MONDAY) == (text, None)
