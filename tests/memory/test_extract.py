"""Candidate memories from one message: what is kept, how it reads, what it is keyed by."""

from __future__ import annotations

import json
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hearth.memory.dates import parse_session_time
from hearth.memory.extract import MAX_CANDIDATES, Candidate, extract, is_chitchat
from hearth.store.memories import KINDS

MONDAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
LOCOMO = Path("/work/shared/data/locomo-dev")


def one(text: str, **kwargs) -> Candidate:
    kwargs.setdefault("speaker", "Caroline")
    kwargs.setdefault("said_at", MONDAY)
    candidates = extract(text, **kwargs)
    assert len(candidates) == 1, candidates
    return candidates[0]


# --- first-person facts become standalone third-person statements -----------------------------


def test_first_person_statement_is_rewritten_with_the_speakers_name_and_dated():
    memory = one("I went to a LGBTQ support group yesterday and it was so powerful.")
    assert memory.text == (
        "Caroline went to a LGBTQ support group yesterday (7 May 2023) and it was so powerful.")
    assert memory.kind == "event"
    assert memory.observed_at == datetime(2023, 5, 7, tzinfo=UTC)


def test_verbs_agree_with_the_name_that_replaces_i():
    assert one("I really love hiking and my dog loves it too.").text == (
        "Caroline really loves hiking and Caroline's dog loves it too.")
    assert one("I'm keen on counseling - I'd love to support others.").text == (
        "Caroline is keen on counseling - Caroline would love to support others.")
    assert one("I've known these friends for 4 years.").text == (
        "Caroline has known these friends for 4 years (since 2019).")
    assert one("My husband and I go camping every summer.").text == (
        "Caroline's husband and Caroline go camping every summer.")


def test_dropped_subject_is_restored():
    memory = one("Lost my job as a banker yesterday, so I'm gonna start my own business.",
                 speaker="Jon")
    assert memory.text == ("Jon lost Jon's job as a banker yesterday (7 May 2023), so Jon is "
                           "gonna start Jon's own business.")


def test_message_time_is_the_observed_time_when_no_date_is_mentioned():
    assert one("I love painting sunsets.").observed_at == MONDAY


# --- kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["I love hiking in the mountains.", "I prefer tea over coffee.", "I hate running in the rain.",
     "I'm a big fan of classical music like Bach and Mozart."],
)
def test_likes_and_dislikes_are_preferences(text):
    assert one(text).kind == "preference"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm going to Japan next month.", "Caroline is going to Japan next month (June 2023)."),
        ("I'm planning to adopt a rescue dog.", "Caroline is planning to adopt a rescue dog."),
        ("I will start my new job on Monday.",
         "Caroline will start Caroline's new job on Monday (15 May 2023)."),
    ],
)
def test_intentions_are_plans_dated_in_the_future(text, expected):
    memory = one(text)
    assert (memory.kind, memory.text) == ("plan", expected)


def test_plan_observed_at_is_the_planned_day():
    memory = one("I will start my new job on Monday.")
    assert memory.observed_at == datetime(2023, 5, 15, tzinfo=UTC)


def test_family_and_friends_are_relationships():
    memory = one("My sister Anna is a nurse in Munich.")
    assert memory.kind == "relationship"
    assert memory.text == "Caroline's sister Anna is a nurse in Munich."
    assert memory.subject is None  # a sister's job is not the speaker's


def test_instruction_to_the_assistant_is_kept_as_an_instruction():
    memory = one("Please always answer in French.")
    assert memory.kind == "instruction"
    assert memory.text == "Caroline's instruction: please always answer in French."
    assert memory.importance >= 0.9


def test_remember_that_is_stored_as_the_fact_itself_with_extra_weight():
    memory = one("Remember that I'm allergic to peanuts.")
    assert memory.text == "Caroline is allergic to peanuts."
    assert memory.importance >= 0.9


def test_every_kind_is_one_of_the_documented_kinds():
    texts = ["I live in Berlin.", "I love jazz.", "My brother plays chess.", "I ran 5k yesterday.",
             "I'll fly to Rome next week.", "Always reply in English.", "The sky was grey."]
    kinds = {c.kind for t in texts for c in extract(t, speaker="Ann", said_at=MONDAY)}
    assert kinds == set(KINDS)


# --- keyed single-valued facts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "subject", "value"),
    [
        ("I live in Berlin.", "lives_in", "Berlin"),
        ("I moved to Paris last year.", "lives_in", "Paris"),
        ("We just moved to New York City!", "lives_in", "New York City"),
        ("My favourite colour is blue.", "favourite:colour", "blue"),
        ("My favorite color is green.", "favourite:colour", "green"),
        ("My favorite food is mac and cheese!", "favourite:food", "mac and cheese"),
        ("Pizza is my favorite food.", "favourite:food", "Pizza"),
        ("My name is Anna.", "name", "Anna"),
        ("Call me Bob, please.", "name", "Bob"),
        ("I'm 32 years old.", "age", "32"),
        ("I just turned 40 last week!", "age", "40"),
        ("I work as a nurse at the city hospital.", "works_as", "nurse"),
        ("I'm a software engineer.", "works_as", "software engineer"),
        ("I work at Google.", "works_at", "Google"),
        ("I'm from Sweden.", "hometown", "Sweden"),
        ("I'm married.", "relationship_status", "married"),
        ("We got engaged yesterday!", "relationship_status", "engaged"),
        ("My dog's name is Rex.", "pet_name:dog", "Rex"),
        ("I have a cat named Luna.", "pet_name:cat", "Luna"),
        ("My husband Tom loves cooking.", "partner", "Tom"),
    ],
)
def test_single_valued_facts_carry_subject_and_value(text, subject, value):
    memory = one(text)
    assert (memory.subject, memory.value) == (subject, value)


def test_pet_named_in_the_next_sentence_is_keyed_to_the_pet():
    candidates = extract("I got a puppy two weeks ago! Her name's Coco and she's adorable.",
                         speaker="Maria", said_at=MONDAY)
    assert candidates[0].text == "Maria got a puppy two weeks ago (week of 24 April 2023)!"
    assert (candidates[1].subject, candidates[1].value) == ("pet_name:dog", "Coco")


def test_events_and_plans_have_no_subject():
    assert one("I ran a charity race last Saturday.").subject is None
    assert one("I'm moving to Lisbon next month.").subject is None  # not there yet


def test_identity_and_life_events_weigh_more_than_passing_remarks():
    identity = one("I'm a proud transgender woman.")
    life_event = one("I got married last June!")
    remark = one("The colors really blend nicely.")
    assert identity.kind == "profile"
    assert min(identity.importance, life_event.importance) > remark.importance
    assert all(0.0 <= c.importance <= 1.0 for c in (identity, life_event, remark))


# --- chit-chat --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Hey Mel! Good to see you! How have you been?", "Thanks, Caroline! That's really sweet.",
     "haha", "That's great!", "Wow, that's awesome! Can't wait to hear it!", "Bye!",
     "Take care, Maria. Catch you soon!", "Totally agree, Mel.", "Wow! Did you see that band?",
     "What got you into running?", "Mel, that's great!", ""],
)
def test_chitchat_and_questions_about_the_listener_produce_nothing(text):
    assert is_chitchat(text)
    assert extract(text, speaker="Caroline", said_at=MONDAY) == []


def test_greetings_are_dropped_but_the_news_in_the_same_message_is_kept():
    candidates = extract("Hey Caroline! Good to see you! I'm swamped with the kids & work. "
                         "What's up with you? Anything new?", speaker="Melanie", said_at=MONDAY)
    assert [c.text for c in candidates] == ["Melanie is swamped with the kids & work."]
    assert not is_chitchat("Hey! I'm swamped with the kids & work.")


@pytest.mark.parametrize("text", ["Where do I live?", "What is my dog called?",
                                  "Have you tried my lasagna recipe yet?"])
def test_a_question_is_not_a_memory_even_about_the_speaker(text):
    assert is_chitchat(text)
    assert extract(text, speaker="Caroline", said_at=MONDAY) == []


def test_statements_around_a_question_are_kept_without_it():
    candidates = extract("I adopted a puppy last week. Do you remember my old dog? My sister "
                         "still misses him a lot.", speaker="Caroline", said_at=MONDAY)
    assert [c.text for c in candidates] == [
        "Caroline adopted a puppy last week (week of 1 May 2023).",
        "Caroline's sister still misses him a lot."]


# --- answers carry their question -----------------------------------------------------------


def test_bare_answer_quotes_the_question_it_answers():
    memory = one("It was a painting of a sunset.", speaker="Melanie",
                 previous="Wow, Melanie! What did you paint?", previous_speaker="Caroline")
    assert memory.text == (
        'Asked "What did you paint?", Melanie said: it was a painting of a sunset.')


def test_yes_answer_with_a_date_is_standalone_and_dated():
    memory = one("Yes, last Friday!", speaker="Melanie",
                 previous="Did you run the charity race?", previous_speaker="Caroline")
    assert memory.text == (
        'Asked "Did you run the charity race?", Melanie said: yes, last Friday (5 May 2023)!')
    assert memory.observed_at == datetime(2023, 5, 5, tzinfo=UTC)


def test_one_word_answers_are_kept_only_when_the_question_asked_something():
    assert one("Paris!", previous="Where did you go?").text == (
        'Asked "Where did you go?", Caroline said: Paris!')
    assert extract("Good!", speaker="Caroline", said_at=MONDAY,
                   previous="How have you been?") == []


def test_answer_that_stands_on_its_own_is_not_prefixed():
    memory = one("I started a new job at the bakery.", previous="What's new with you?")
    assert memory.text == "Caroline started a new job at the bakery."


# --- no information lost ----------------------------------------------------------------------


def test_informative_sentence_without_first_person_keeps_every_word():
    text = "The concert was amazing and the band played Bohemian Rhapsody until midnight."
    memory = one(text)
    assert memory.text == f"Caroline said: {text[0].lower()}{text[1:]}"


def test_sentences_with_we_are_kept_verbatim_and_attributed():
    memory = one("We explored the coast up in the Pacific Northwest and hit some national parks.",
                 speaker="John")
    assert memory.text == ("John said: we explored the coast up in the Pacific Northwest and hit "
                           "some national parks.")


def test_long_message_is_merged_into_at_most_eight_candidates_without_dropping_words():
    sentences = [f"I visited museum number {n} in Vienna." for n in range(1, 15)]
    candidates = extract(" ".join(sentences), speaker="Ann", said_at=MONDAY)
    assert len(candidates) <= MAX_CANDIDATES
    joined = " ".join(c.text for c in candidates)
    for n in range(1, 15):
        assert f"Ann visited museum number {n} in Vienna." in joined


def test_tiny_sentences_are_merged_into_their_neighbour():
    candidates = extract("Yeah, I painted that lake sunrise last year! It's special to me.",
                         speaker="Melanie", said_at=MONDAY)
    assert [c.text for c in candidates] == [
        "Melanie painted that lake sunrise last year (2022)! It's special to Melanie."]


# --- the LoCoMo development conversations -------------------------------------------------------


def _turns(conversation: dict):
    """(dia_id, speaker, text, said_at, previous turn, previous speaker) for every turn."""
    sessions = sorted((int(m.group(1)), key) for key in conversation
                      if (m := re.fullmatch(r"session_(\d+)", key)) and conversation[key])
    for _, key in sessions:
        said_at = parse_session_time(conversation[f"{key}_date_time"])
        previous = previous_speaker = None
        for turn in conversation[key]:
            yield turn["dia_id"], turn["speaker"], turn["text"], said_at, previous, previous_speaker
            previous, previous_speaker = turn["text"], turn["speaker"]


def locomo_report(folder: Path) -> dict[str, float]:
    """Run the extractor over every turn; measure yield, evidence coverage and time per turn."""
    turns = with_candidates = candidates = evidence_total = evidence_found = 0
    wall: list[float] = []
    cpu: list[float] = []
    extract("warm up", speaker="A", said_at=MONDAY)
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        conversation = data.get("conversation", data)
        found: dict[str, int] = {}
        for dia_id, speaker, text, said_at, previous, previous_speaker in _turns(conversation):
            started, started_cpu = time.perf_counter(), time.thread_time()
            result = extract(text, speaker=speaker, said_at=said_at, previous=previous,
                             previous_speaker=previous_speaker)
            wall.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
            found[dia_id] = len(result)
            turns += 1
            with_candidates += bool(result)
            candidates += len(result)
        evidence = {e for qa in data.get("qa", []) if qa.get("category") in (1, 2, 3, 4)
                    for ref in qa.get("evidence", []) for e in re.split(r"[;,\s]+", ref)
                    if e in found}
        evidence_total += len(evidence)
        evidence_found += sum(1 for e in evidence if found[e])

    def percentile(values: list[float], share: float) -> float:
        return sorted(values)[int(share * (len(values) - 1))] * 1000

    return {
        "turns": turns,
        "turns_with_candidates": with_candidates / turns,
        "evidence_turns": evidence_total,
        "evidence_coverage": evidence_found / evidence_total,
        "candidates_per_turn": candidates / turns,
        "p50_ms": statistics.median(wall) * 1000,
        "p95_ms": percentile(wall, 0.95),
        "cpu_p50_ms": statistics.median(cpu) * 1000,
        "cpu_p95_ms": percentile(cpu, 0.95),
    }


@pytest.mark.skipif(not LOCOMO.is_dir(), reason="LoCoMo development data not present")
def test_every_locomo_evidence_turn_yields_a_memory():
    report = locomo_report(LOCOMO)
    print("\nLoCoMo extraction:", {k: round(v, 3) for k, v in report.items()})
    assert report["evidence_coverage"] >= 0.97


# --- one fact per memory ----------------------------------------------------------------------


def test_and_i_starting_a_clause_of_its_own_makes_two_memories_each_with_its_key():
    candidates = extract("I moved to Tromsø last spring and I work as a marine biologist.",
                         speaker="Ingrid", said_at=MONDAY)
    assert [(c.text, c.subject, c.value) for c in candidates] == [
        ("Ingrid moved to Tromsø last spring (spring 2022).", "lives_in", "Tromsø"),
        ("Ingrid works as a marine biologist.", "works_as", "marine biologist"),
    ]


@pytest.mark.parametrize("text", [
    "Yesterday my husband and I went hiking in the hills near the lake.",
    "I love it and I mean it.",
])
def test_a_compound_subject_or_a_short_clause_is_not_cut(text):
    assert len(extract(text, speaker="Caroline", said_at=MONDAY)) == 1
