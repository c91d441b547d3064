"""``hearth bench memory --answers``: the same questions answered from memory, with no memory
and from the full conversation, each scored with LoCoMo's F1.

The engine here is the fake one, taught to "read": it answers a question about Ana's cat with
the cat's name only when the name is in its prompt, so scores say which prompts held the answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hearth.bench import memory_answers as answers
from hearth.bench.answer_scoring import score
from hearth.bench.locomo import Turn, load_dataset
from hearth.engines.base import ChatRequest
from hearth.engines.fake import FakeEngine
from test_bench_memory import TINY


class ReadingEngine(FakeEngine):
    """Says "Pixel" when the prompt holds it, else "I do not know"; keeps every request."""

    def __init__(self, context_length: int = 4096) -> None:
        super().__init__("reader", context_length, slots=1, max_queue=8)
        self.requests: list[ChatRequest] = []

    def _answer_words(self, request: ChatRequest) -> list[str]:
        self.requests.append(request)
        prompt = " ".join(str(m.get("content")) for m in request.messages)
        return ["Pixel"] if "Pixel" in prompt else ["I", "do", "not", "know"]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "locomo"
    folder.mkdir()
    (folder / "7.json").write_text(json.dumps(TINY))
    return folder


def test_each_system_answers_the_same_questions_and_is_scored(dataset: Path) -> None:
    engine = ReadingEngine()
    report = answers.run_answers(load_dataset(dataset), dataset, engine, sample=None)
    assert set(report["systems"]) == {"memory", "no memory", "full context"}
    # Categories 1-4 with a gold answer; the adversarial question is left out.
    assert {s["questions"] for s in report["systems"].values()} == {4}
    by_system = report["per_question"]
    cat = {name: next(r for r in rows if r["question"] == "What is Ana's cat called?")
           for name, rows in by_system.items()}
    assert cat["memory"]["answer"] == "Pixel" and cat["memory"]["f1"] == 1.0
    assert cat["full context"]["f1"] == 1.0
    assert cat["no memory"]["f1"] == 0.0
    for rows in by_system.values():
        for row in rows:
            assert (row["f1"], row["exact"]) == score(row["category"], row["answer"], row["gold"])
    memory, alone = report["systems"]["memory"], report["systems"]["no memory"]
    assert memory["f1"]["single-hop"] == 1.0
    assert memory["prompt_tokens"]["mean"] > alone["prompt_tokens"]["mean"]
    assert memory["seconds_per_answer"]["p95"] is not None
    goals = {g["name"]: g for g in report["goals"]}
    assert goals["F1 with memory / F1 with full context"]["measured"] is not None
    json.dumps(report)  # plain JSON


def test_the_memory_prompt_is_the_assistants_and_the_others_are_not(dataset: Path) -> None:
    from hearth.assistant.prompt import BOUNDARIES

    engine = ReadingEngine()
    answers.run_answers(load_dataset(dataset), dataset, engine, sample=1, seed=3)
    memory, alone, full = engine.requests
    assert memory.messages[0]["role"] == "system"
    assert memory.messages[0]["content"].startswith(BOUNDARIES)
    assert memory.messages[-1] == alone.messages[-1] == full.messages[-1]
    assert alone.messages == [alone.messages[-1]]
    assert alone.messages[-1]["content"].endswith(answers.INSTRUCTION)
    assert "Session of 2 June 2023" in full.messages[0]["content"]
    assert all(r.temperature == 0.0 for r in engine.requests)


def test_the_sample_is_fixed_by_its_seed_and_keeps_the_dataset_order(dataset: Path) -> None:
    conversations = load_dataset(dataset)
    first = answers.sample_questions(conversations, 2, seed=5)
    assert first == answers.sample_questions(conversations, 2, seed=5)
    every = answers.sample_questions(conversations, None)
    assert [a.question.text for a in every] == [
        q["question"] for q in TINY["qa"] if q["category"] != 5]
    picked = [every.index(a) for a in first]
    assert len(picked) == 2 and picked == sorted(picked)


def turn(dia_id: str, session: int, text: str) -> Turn:
    return Turn(dia_id, "Ana", text, datetime(2023, 5, session, tzinfo=UTC), session)


def test_full_context_keeps_the_most_recent_turns_that_fit() -> None:
    turns = [turn("D1:1", 1, "one two three"), turn("D2:1", 2, "four five six"),
             turn("D2:2", 2, "seven eight nine")]

    def words(text: str) -> int:
        return len(text.split())

    # Each turn costs 4 words ("Ana:" and three), a session line 6.
    assert answers.transcript(turns, 14, words) == (
        "Session of 2 May 2023, 00:00:\nAna: four five six\nAna: seven eight nine")
    assert answers.transcript(turns, 13, words) == (
        "Session of 2 May 2023, 00:00:\nAna: seven eight nine")
    assert "one two three" in answers.transcript(turns, 100, words)


def test_cli_runs_the_answers_and_writes_their_report(dataset: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from hearth.cli.main import app

    def fake_engine(settings: Any) -> ReadingEngine:
        assert settings.model == answers.ANSWER_MODEL
        return ReadingEngine()

    monkeypatch.setattr("hearth.engines.registry.create_engine", fake_engine)
    out = tmp_path / "answers.json"
    result = CliRunner().invoke(app, ["bench", "memory", "--dataset", str(dataset), "--answers",
                                      "--sample", "2", "--conversations", "7",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "full context" in result.output
    report = json.loads(out.read_text())
    assert report["benchmark"] == "memory-answers"
    assert report["dataset"]["questions"] == 2


def test_cli_names_the_conversations_a_dataset_has(dataset: Path) -> None:
    from typer.testing import CliRunner

    from hearth.cli.main import app

    result = CliRunner().invoke(app, ["bench", "memory", "--dataset", str(dataset),
                                      "--conversations", "9"])
    assert result.exit_code != 0
    assert "it has 7" in result.output
