"""Candidate memories from one message: the orchestration of sentences, rewriting, keyed facts
and kinds, with short sentences merged into a neighbour and relative dates made absolute."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hearth.memory.dates import resolve_relative_dates
from hearth.memory.extract.classify import KIND_RANK, REMEMBER, classify, importance_of
from hearth.memory.extract.facts import PET_CANONICAL, PET_MENTION, keyed_fact
from hearth.memory.extract.sentences import (
    TINY_WORDS,
    answer_text,
    clauses,
    last_question,
    name_words,
    normalise,
    sentence_role,
    split_sentences,
    strip_social,
)
from hearth.memory.extract.third_person import fill_subject, lower_first, standalone

MAX_CANDIDATES = 8


@dataclass(frozen=True)
class Candidate:
    """One statement worth remembering, before consolidation decides whether to store it.

    ``subject``/``value`` are set for single-valued facts ("lives_in"/"Berlin"), so that a later
    candidate with the same subject and another value supersedes this one.
    """

    kind: str
    text: str
    observed_at: datetime
    importance: float
    subject: str | None = None
    value: str | None = None
    quotes_previous: bool = False  # the text quotes the other party's question


_ANSWER_PARTICLE = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|no|nope|nah|sure|definitely|absolutely|of\s+course|totally|"
    r"not\s+(?:yet|really|at\s+all)|never|always|sometimes|both|neither|exactly|kind\s+of|"
    r"i\s+(?:did|do|have|am|was|will|didn't|don't|haven't|wasn't|won't)|it\s+(?:was|is)|"
    r"it's|they\s+(?:were|are)|that\s+was|i\s+sure\s+did)\b",
    re.I,
)
_ANAPHORIC_START = re.compile(r"^(?:it|that|this|they|those|these|there|he|she|them|both)\b", re.I)


@dataclass
class _Unit:
    core: str  # the sentence as said, minus greetings and vocatives
    text: str  # standalone text, dates not yet resolved
    kind: str
    importance: float
    subject: str | None = None
    value: str | None = None

    @property
    def words(self) -> int:
        return len(self.core.split())


def _unit(sentence: str, *, speaker: str, names: tuple[str, ...],
          pet_context: str | None) -> _Unit:
    """One statement, standalone: in the third person (or attributed), with its kind."""
    core = strip_social(sentence, names)
    remembered = REMEMBER.match(core)
    if remembered:
        core = core[remembered.end():]
        core = core[0].upper() + core[1:]
    core_filled = fill_subject(core)
    keyed = keyed_fact(core_filled, pet_context)
    kind = keyed[0] if keyed else classify(core_filled)
    if kind == "instruction":
        text, attributed = f"{speaker}'s instruction: {lower_first(core)}", False
    else:
        text, attributed = standalone(core, core_filled, speaker)
    importance = importance_of(kind, core_filled, keyed=keyed is not None, attributed=attributed)
    if remembered:  # asked outright to remember it
        importance = round(min(1.0, importance + 0.2), 2)
    subject, value = (keyed[1], keyed[2]) if keyed else (None, None)
    return _Unit(core, text, kind, importance, subject, value)


def _merge(first: _Unit, second: _Unit, speaker: str) -> _Unit:
    lead = first if KIND_RANK[first.kind] >= KIND_RANK[second.kind] else second
    keyed = first if first.subject else second
    second_text = second.text
    said = f"{speaker} said: "
    if second_text.startswith(said) and said in first.text:  # one "X said:" is enough
        rest = second_text[len(said):]
        second_text = rest[:1].upper() + rest[1:]
    return _Unit(
        core=f"{first.core} {second.core}",
        text=f"{first.text} {second_text}",
        kind=lead.kind,
        importance=max(first.importance, second.importance),
        subject=keyed.subject,
        value=keyed.value,
    )


def _merge_small(units: list[_Unit], speaker: str) -> list[_Unit]:
    """Fold tiny sentences into a neighbour, then merge neighbours until at most the limit."""
    merged: list[_Unit] = []
    for unit in units:
        if merged and unit.words <= TINY_WORDS and not unit.subject and unit.kind != "instruction":
            merged[-1] = _merge(merged[-1], unit, speaker)
        elif merged and merged[-1].words <= TINY_WORDS and not merged[-1].subject and (
                merged[-1].kind != "instruction"):
            merged[-1] = _merge(merged[-1], unit, speaker)
        else:
            merged.append(unit)
    if len(merged) <= MAX_CANDIDATES:
        return merged
    # Too many: cut the message into MAX_CANDIDATES runs of neighbouring sentences of about
    # equal length. Every word stays; only the later keys in a run are lost as keys.
    target = sum(unit.words for unit in merged) / MAX_CANDIDATES
    runs: list[_Unit] = []
    current: _Unit | None = None
    for index, unit in enumerate(merged):
        left_after = len(merged) - index - 1
        current = unit if current is None else _merge(current, unit, speaker)
        if (current.words >= target or left_after <= MAX_CANDIDATES - len(runs) - 1) and (
                len(runs) < MAX_CANDIDATES - 1):
            runs.append(current)
            current = None
    if current is not None:
        runs.append(current)
    return runs


def extract(text: str, *, speaker: str, said_at: datetime, previous: str | None = None,
            previous_speaker: str | None = None) -> list[Candidate]:
    """Candidate memories from one message, at most ``MAX_CANDIDATES``, in message order.

    ``previous`` is the other party's preceding turn; when this message answers a question in
    it without saying what about, the question is quoted in the first candidate. Relative dates
    are resolved against ``said_at``; a candidate's ``observed_at`` is the date it is about
    (else ``said_at``). Returns [] for chit-chat.
    """
    names = name_words(speaker, previous_speaker)
    sentences = split_sentences(normalise(text))
    question = last_question(previous, names)
    units: list[_Unit] = []
    pet_context: str | None = None
    answered = question is None  # until the first statement, a reply answers the question
    for sentence in (clause for whole in sentences for clause in clauses(whole)):
        core = strip_social(sentence, names)
        role = sentence_role(core, names)
        pet = PET_MENTION.search(core)
        if pet:
            animal = pet.group(1).lower()
            pet_context = PET_CANONICAL.get(animal, animal)
        if question is not None and not answered and (role == "statement" or (
                role is None and _ANSWER_PARTICLE.match(answer_text(sentence, names)))):
            answered = True
            units.append(_answer_unit(sentence, question, speaker=speaker, names=names,
                                      pet_context=pet_context))
            continue
        if role == "question":
            # A question asks; it tells nothing ("Where do I live?" is what recall is for).
            # They moved on, so later statements are not answers.
            answered = True
        if role != "statement":
            continue
        units.append(_unit(sentence, speaker=speaker, names=names, pet_context=pet_context))
    candidates = []
    for unit in _merge_small(units, speaker):
        resolved, event_at = resolve_relative_dates(unit.text, said_at)
        candidates.append(Candidate(
            kind=unit.kind,
            text=_finish(resolved),
            observed_at=event_at or said_at,
            importance=unit.importance,
            subject=unit.subject,
            value=unit.value,
            quotes_previous=unit.text.startswith(_QUOTED_QUESTION),
        ))
    return candidates


_QUOTED_QUESTION = 'Asked "'


def _answer_unit(sentence: str, question: str, *, speaker: str, names: tuple[str, ...],
                 pet_context: str | None) -> _Unit:
    """A reply to the other party's question; quoted with it unless it stands on its own."""
    answer = answer_text(sentence, names) or sentence
    core = strip_social(sentence, names)
    base = _unit(sentence, speaker=speaker, names=names,
                 pet_context=pet_context) if core else None
    stands_alone = (
        base is not None
        and not base.text.startswith(f"{speaker} said:")
        and not _ANSWER_PARTICLE.match(answer)
        and not _ANAPHORIC_START.match(core)
    )
    if stands_alone:
        assert base is not None
        return base
    text = f'{_QUOTED_QUESTION}{question}", {speaker} said: {lower_first(answer)}'
    if base is None:
        return _Unit(answer, text, "fact", 0.45)
    return _Unit(base.core, text, base.kind, max(base.importance, 0.45), base.subject, base.value)


def _finish(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?…\"')":
        text += "."
    return text
