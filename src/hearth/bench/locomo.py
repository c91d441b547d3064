"""LoCoMo conversations as plain objects: turns with the time they were said, and questions.

LoCoMo (Maharana et al., 2024, "Evaluating Very Long-Term Conversational Memory of LLM
Agents") gives, per conversation, sessions of turns between two speakers and questions whose
``evidence`` names the turns (``dia_id`` such as ``"D3:12"``) that answer them. A file holds
one conversation, either wrapped (``{"conversation": {...}, "qa": [...]}``, as the upstream
``locomo10.json`` entries are) or flat (the conversation's keys and ``qa`` side by side); a
file may also hold a list of such entries.

Sessions are ``session_N`` lists of turns (``dia_id``, ``speaker``, ``text``) with
``session_N_date_time`` such as ``"1:56 pm on 8 May, 2023"``. A session time without turns is
ignored. Times carry no zone in the data; they are read as UTC.

A turn is what its speaker wrote. Image turns also carry the image's ``blip_caption``, which
LoCoMo's own retrieval baselines append to the turn ("... and shared a photo of ..."); hearth's
chat API takes no images, so the benchmark leaves captions out, for every system alike. With
captions appended to the message as "I shared <caption>." (LoCoMo dev): hearth
recall@10 0.795 (without: 0.794), within 1,000 tokens 0.908 (0.900), ingest p95 40 ms (33 to
35: a memory per caption); BM25 recall@10 0.574 (0.570), MiniLM 0.484 (0.505).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearth.errors import HearthError

CATEGORIES: dict[int, str] = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
"""The categories benchmarked; 5 (adversarial: the answer is not in the conversation) is not."""

_SESSION = re.compile(r"session_(\d+)")
_EVIDENCE_SPLIT = re.compile(r"[;,\s]+")
_TIME_FORMAT = "%I:%M %p on %d %B, %Y"


class DatasetError(HearthError):
    """A dataset file is missing or not in LoCoMo's format; the message says which and where."""


@dataclass(frozen=True)
class Turn:
    """One message of the conversation."""

    dia_id: str
    speaker: str
    text: str
    said_at: datetime
    session: int


@dataclass(frozen=True)
class Question:
    text: str
    answer: str | None
    evidence: tuple[str, ...]
    category: int


@dataclass(frozen=True)
class Conversation:
    """One LoCoMo file: both speakers' turns in order, and the questions about them."""

    name: str
    speakers: tuple[str, str]
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]

    @property
    def last_time(self) -> datetime:
        """When the last session took place: "now" for questions asked after it."""
        return max(turn.said_at for turn in self.turns)


def parse_time(text: str) -> datetime:
    """``"1:56 pm on 8 May, 2023"`` as an aware UTC datetime."""
    try:
        return datetime.strptime(" ".join(text.split()), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise DatasetError(f"{text!r} is not a LoCoMo session time "
                           "(expected like '1:56 pm on 8 May, 2023').") from None


def parse_evidence(items: Iterable[str]) -> tuple[str, ...]:
    """Evidence dia_ids, with the few upstream entries that pack two ids in one string
    (``"D8:6; D9:17"``) split apart, and duplicates dropped."""
    found: list[str] = []
    for item in items:
        for part in _EVIDENCE_SPLIT.split(str(item)):
            if part and part not in found:
                found.append(part)
    return tuple(found)


def conversation_from(data: dict[str, Any], name: str) -> Conversation:
    """A conversation from one parsed LoCoMo entry; ``name`` identifies it in reports."""
    body = data.get("conversation", data)
    try:
        speakers = (str(body["speaker_a"]), str(body["speaker_b"]))
        sessions = sorted(int(m.group(1)) for key in body
                          if (m := _SESSION.fullmatch(key)) and isinstance(body[key], list))
        turns = []
        for number in sessions:
            when = parse_time(body[f"session_{number}_date_time"])
            for turn in body[f"session_{number}"]:
                turns.append(Turn(dia_id=str(turn["dia_id"]), speaker=str(turn["speaker"]),
                                  text=str(turn["text"]), said_at=when, session=number))
        questions = tuple(
            Question(text=str(qa["question"]),
                     answer=None if qa.get("answer") is None else str(qa["answer"]),
                     evidence=parse_evidence(qa.get("evidence", ())),
                     category=int(qa["category"]))
            for qa in data.get("qa", body.get("qa", ()))
        )
    except KeyError as missing:
        raise DatasetError(f"{name}: missing {missing} (is this a LoCoMo file?)") from None
    if not turns:
        raise DatasetError(f"{name}: no session_N turns found (is this a LoCoMo file?)")
    return Conversation(name=name, speakers=speakers, turns=tuple(turns), questions=questions)


def load_file(path: Path) -> list[Conversation]:
    """The conversations in one JSON file (one, or several when the file holds a list)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"Could not read {path}: {error}") from None
    if isinstance(data, list):
        return [conversation_from(entry, entry.get("sample_id") or f"{path.stem}-{i}")
                for i, entry in enumerate(data)]
    return [conversation_from(data, path.stem)]


def load_dataset(folder: Path) -> list[Conversation]:
    """Every ``*.json`` in ``folder`` (sorted by name), each file one user's conversations."""
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder of LoCoMo JSON files.")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DatasetError(f"{folder} holds no *.json files.")
    return [conversation for path in files for conversation in load_file(path)]
