"""``hearth bench memory``: the LoCoMo loader, the recall arithmetic, the baselines and the
harness end to end.

No test here asserts a speed or a recall target: those are the benchmark's output. The end to
end tests drive a small word-overlap memory service through the same adapter that drives
production's ``MemoryService``, so the whole path runs without the real service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from hearth.bench import memory as bench
from hearth.bench import memory_scale as scale
from hearth.bench import memory_scoring as scoring
from hearth.bench.baselines import BM25Baseline, MiniLMBaseline, render_turn
from hearth.bench.locomo import (
    Conversation,
    DatasetError,
    Turn,
    load_dataset,
    parse_evidence,
    parse_time,
)
from hearth.bench.memory_scoring import Hit
from hearth.bench.memory_systems import BaselineSystem, ServiceSystem
from hearth.store.memories import Owner, SourceRef

TINY = {
    "conversation": {
        "speaker_a": "Ana",
        "speaker_b": "Bo",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a grey cat called Pixel."},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "Lovely! I am learning the cello."},
            {"speaker": "Ana", "dia_id": "D1:3", "text": "Look at this.",
             "blip_caption": "a photo of a cat on a sofa", "img_url": ["http://x/y.jpg"]},
        ],
        "session_2_date_time": "10:05 am on 2 June, 2023",
        "session_2": [
            {"speaker": "Bo", "dia_id": "D2:1", "text": "My cello recital went well yesterday."},
            {"speaker": "Ana", "dia_id": "D2:2", "text": "Pixel knocked over my coffee mug."},
        ],
        "session_3_date_time": "9:00 am on 1 July, 2023",
    },
    "qa": [
        {"question": "What is Ana's cat called?", "answer": "Pixel", "evidence": ["D1:1"],
         "category": 4},
        {"question": "When was Bo's cello recital?", "answer": "1 June 2023",
         "evidence": ["D2:1"], "category": 2},
        {"question": "What did Ana's cat do?", "answer": "knocked over a mug",
         "evidence": ["D1:1; D2:2"], "category": 1},
        {"question": "Would Bo enjoy a concert?", "answer": "yes", "evidence": [],
         "category": 3},
        {"question": "What is Bo's dog called?", "adversarial_answer": "Rex",
         "evidence": ["D1:2"], "category": 5},
    ],
}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "locomo"
    folder.mkdir()
    (folder / "7.json").write_text(json.dumps(TINY))
    flat = {**TINY["conversation"], "qa": TINY["qa"]}  # the dev set's unwrapped layout
    (folder / "8.json").write_text(json.dumps(flat))
    return folder


# -- the loader --------------------------------------------------------------------------------


def test_loader_reads_turns_in_order_with_their_session_time(dataset: Path) -> None:
    wrapped, flat = load_dataset(dataset)
    assert (wrapped.name, flat.name) == ("7", "8")
    assert wrapped.turns == flat.turns
    assert wrapped.speakers == ("Ana", "Bo")
    assert [t.dia_id for t in wrapped.turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
    assert wrapped.turns[0].said_at == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert wrapped.turns[3].said_at == datetime(2023, 6, 2, 10, 5, tzinfo=UTC)
    assert [t.session for t in wrapped.turns] == [1, 1, 1, 2, 2]
    assert wrapped.turns[2].text == "Look at this."  # an image turn is its text alone
    # session_3 has a time but no turns: it is not a session, and not "now".
    assert wrapped.last_time == datetime(2023, 6, 2, 10, 5, tzinfo=UTC)


def test_loader_reads_questions_and_splits_packed_evidence(dataset: Path) -> None:
    questions = load_dataset(dataset)[0].questions
    assert [q.category for q in questions] == [4, 2, 1, 3, 5]
    assert questions[2].evidence == ("D1:1", "D2:2")
    assert questions[4].answer is None
    assert parse_evidence(["D8:6; D9:17", "D8:6"]) == ("D8:6", "D9:17")


def test_only_categories_one_to_four_with_evidence_are_benchmarked(dataset: Path) -> None:
    asked = bench.benchmarked(load_dataset(dataset)[0])
    assert [q.category for q in asked] == [4, 2, 1]


def test_loader_explains_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "bad.json").write_text(json.dumps({"qa": []}))
    with pytest.raises(DatasetError, match="speaker_a"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="session time"):
        parse_time("yesterday")


# -- the arithmetic ----------------------------------------------------------------------------


def hits(*sources: str | tuple[str, ...]) -> list[Hit]:
    return [Hit(sources=s if isinstance(s, tuple) else (s,), text=f"memory {i}")
            for i, s in enumerate(sources)]


def test_recall_is_the_share_of_evidence_found_in_the_provenance() -> None:
    ranked = hits("D1:1", ("D1:4", "D2:2"), "D3:3")
    assert scoring.recall_of(ranked, ["D2:2"]) == 1.0
    assert scoring.recall_of(ranked, ["D2:2", "D9:9"]) == 0.5
    assert scoring.recall_of(ranked[:1], ["D2:2", "D1:1", "D9:9", "D9:8"]) == 0.25
    assert scoring.recall_of([], ["D1:1"]) == 0.0
    with pytest.raises(ValueError):
        scoring.recall_of(ranked, [])


def test_budget_takes_hits_in_rank_order_skipping_those_that_would_overflow() -> None:
    ranked = [Hit(("a",), "one two three"), Hit(("b",), "four five"),
              Hit(("c",), "six seven eight nine"), Hit(("d",), "ten")]

    def words(text: str) -> int:
        return len(text.split())

    taken, used = scoring.within_budget(ranked, 6, words)
    # "c" would make 9 > 6 and is skipped; "d" still fits, as production's recall takes it.
    assert [h.sources for h in taken] == [("a",), ("b",), ("d",)]
    assert used == 6
    assert scoring.within_budget(ranked, 10, words)[1] == 10
    assert scoring.within_budget(ranked, 2, words) == ([ranked[1]], 2)
    assert scoring.within_budget(ranked, 0, words) == ([], 0)


def test_budget_counts_a_heading_once_for_all_the_hits_under_it() -> None:
    ranked = [Hit(("a",), "one two", "7 May:"), Hit(("b",), "three", "8 May:"),
              Hit(("c",), "four five", "7 May:"), Hit(("d",), "six", "9 May:")]

    def words(text: str) -> int:
        return len(text.split())

    taken, used = scoring.within_budget(ranked, 10, words)
    # 2 + 2 ("7 May:"), 1 + 2 ("8 May:"), 2 (under "7 May:" again); "d" would make 12 > 10.
    assert [h.sources for h in taken] == [("a",), ("b",), ("c",)]
    assert used == 9


def test_figures_are_averaged_over_questions_overall_and_per_category() -> None:
    def result(category: int, at10: float) -> scoring.QuestionResult:
        return scoring.QuestionResult("c", "q", category, 1, {5: 0.0, 10: at10}, 1.0, 3, 30,
                                    0.002)

    run = scoring.SystemRun("x", ingest_s=[0.001, 0.003],
                          questions=[result(1, 1.0), result(1, 0.0), result(4, 0.5)])
    summary = scoring.summarise(run)
    at10 = summary["recall"]["recall_at_10"]
    assert at10["overall"] == pytest.approx(0.5)
    assert at10["multi-hop"] == pytest.approx(0.5)
    assert at10["single-hop"] == pytest.approx(0.5)
    assert at10["temporal"] is None
    assert summary["questions_per_category"] == {"multi-hop": 2, "temporal": 0,
                                                 "open-domain": 0, "single-hop": 1}
    assert summary["ingest"]["per_turn_ms"]["p50"] == pytest.approx(2.0)
    assert summary["recall_latency_ms"]["p95"] == pytest.approx(2.0)


def test_the_minilm_token_counter_counts_wordpieces_without_special_tokens() -> None:
    count = scoring.MiniLMTokens()
    assert count("hello world") == 2
    assert count("word " * 600) == 600  # not cut at the model's 256-token window


# -- the baselines -----------------------------------------------------------------------------

TURNS = [
    Turn("D1:1", "Ana", "The weather was grey and rainy all morning.", datetime.now(UTC), 1),
    Turn("D1:2", "Bo", "I finally repaired the carburettor on my old motorbike.",
         datetime.now(UTC), 1),
    Turn("D1:3", "Ana", "We should get coffee sometime next week.", datetime.now(UTC), 1),
]


def test_bm25_ranks_the_turn_sharing_the_rare_words_first() -> None:
    retriever = BM25Baseline()
    retriever.index(TURNS)
    found = retriever.search("Who repaired a motorbike carburettor?", 3)
    assert found[0].dia_id == "D1:2"
    assert len(found) == 1  # the others share no word with the question
    assert retriever.search("the and of", 3) == []


def test_minilm_ranks_the_turn_with_the_same_meaning_first() -> None:
    retriever = MiniLMBaseline()
    retriever.index(TURNS)
    found = retriever.search("Who fixed their motorcycle engine?", 2)
    assert [t.dia_id for t in found][:1] == ["D1:2"]
    assert len(found) == 2


def test_baselines_render_turns_with_their_speaker() -> None:
    system = BaselineSystem(BM25Baseline())
    conversation = Conversation("c", ("Ana", "Bo"), tuple(TURNS), ())
    system.ingest(conversation)
    [hit] = system.search(conversation, "motorbike", 5)
    assert hit == Hit(("D1:2",), render_turn(TURNS[1]))
    assert hit.text.startswith("Bo: I finally")


# -- the harness, end to end -------------------------------------------------------------------


@dataclass(frozen=True)
class FakeRecord:
    text: str
    sources: tuple[SourceRef, ...]


@dataclass(frozen=True)
class FakeRecalled:
    memory: FakeRecord
    score: float


class WordOverlapService:
    """MemoryService's protocol in a few lines: every message is a memory, ranked by the
    words it shares with the question."""

    def __init__(self) -> None:
        self.memories: dict[Owner, list[FakeRecord]] = {}
        self.calls: list[dict[str, Any]] = []

    def remember(self, owner: Owner, text: str, *, speaker: str, said_at: datetime,
                 source: SourceRef, previous: str | None = None,
                 previous_speaker: str | None = None,
                 previous_source: SourceRef | None = None) -> None:
        self.calls.append({"owner": owner, "speaker": speaker, "said_at": said_at,
                           "ref": source.ref, "previous": previous,
                           "previous_speaker": previous_speaker,
                           "previous_ref": previous_source.ref if previous_source else None})
        self.memories.setdefault(owner, []).append(FakeRecord(f"{speaker}: {text}", (source,)))

    def recall(self, owner: Owner, question: str, *, now: datetime | None = None,
               limit: int = 10, token_budget: int | None = None) -> list[FakeRecalled]:
        asked = set(re.findall(r"\w+", question.lower()))
        scored = [FakeRecalled(m, len(asked & set(re.findall(r"\w+", m.text.lower()))))
                  for m in self.memories.get(owner, [])]
        scored = [s for s in scored if s.score > 0]
        return sorted(scored, key=lambda s: -s.score)[:limit]


@contextmanager
def plain(system: Any) -> Iterator[Any]:
    yield system


def test_service_adapter_feeds_messages_as_production_would(dataset: Path) -> None:
    conversation = load_dataset(dataset)[0]
    service = WordOverlapService()
    seconds = ServiceSystem(service).ingest(conversation)
    assert len(seconds) == len(conversation.turns)
    first, second, third, fourth = service.calls[:4]
    assert first["owner"] == Owner("bench", "7")
    assert (first["ref"], first["speaker"], first["previous"]) == ("D1:1", "Ana", None)
    assert second["previous"] == "I adopted a grey cat called Pixel."
    assert second["previous_speaker"] == "Ana"
    assert third["ref"] == "D1:3"
    # A new session starts without a previous message.
    assert (fourth["ref"], fourth["previous"]) == ("D2:1", None)
    assert fourth["said_at"] == datetime(2023, 6, 2, 10, 5, tzinfo=UTC)


def test_hearth_stores_each_turn_as_a_message_of_its_sessions_conversation(
        dataset: Path, tmp_path: Path) -> None:
    """Production's memories cite stored messages (recall reads where they sit), so the
    benchmark stores turns as messages too: one conversation per session, in order."""
    from hearth.bench.memory_systems import hearth_system
    from hearth.store import conversations
    from hearth.store import memories as store

    conversation = load_dataset(dataset)[0]
    with hearth_system(tmp_path / "hearth") as system:
        system.ingest(conversation)
        db = system.service.db
        owner = system.owner(conversation)
        first = conversations.get_conversation(db, "7-session-1", org_id=owner.org_id,
                                               user_id=owner.user_id)
        assert [(m.name, m.content) for m in first.messages] == [
            (t.speaker, t.text) for t in conversation.turns if t.session == 1]
        cited = {s.ref: s for m in store.list_memories(db, owner) for s in m.sources}
        assert cited["D2:2"].conversation_id == "7-session-2"
        assert cited["D2:2"].message_id is not None


def test_harness_scores_every_system_on_the_same_questions(dataset: Path) -> None:
    systems = [lambda: plain(ServiceSystem(WordOverlapService(), name="hearth")),
               lambda: plain(BaselineSystem(BM25Baseline()))]
    report = bench.run_dataset(load_dataset(dataset), dataset, systems=systems)
    assert set(report["systems"]) == {"hearth", "bm25"}
    hearth = report["systems"]["hearth"]
    assert hearth["error"] is None
    assert hearth["questions"] == 6  # 3 benchmarked questions in each of 2 files
    assert hearth["ingest"]["turns"] == 10
    assert hearth["ingest"]["per_turn_ms"]["p95"] is not None
    assert hearth["recall"]["recall_at_10"]["single-hop"] == 1.0
    assert hearth["recall"]["recall_at_10"]["open-domain"] is None
    assert set(hearth["recall"]) == {"recall_at_5", "recall_at_10", "recall_in_1000_tokens"}
    assert report["systems"]["bm25"]["ingest"]["per_turn_ms"]["p50"] is None
    assert report["dataset"]["questions"] == 6
    assert report["dataset"]["questions_without_evidence_skipped"] == 2
    goals = {g["name"]: g for g in report["goals"]}
    assert goals["hearth recall@10"]["measured"] == hearth["recall"]["recall_at_10"]["overall"]
    assert all(g["met"] in (True, False) for g in report["goals"])
    json.dumps(report)  # the report is plain JSON


def test_a_failing_system_is_recorded_and_the_others_still_run(dataset: Path) -> None:
    @contextmanager
    def broken() -> Iterator[Any]:
        raise ModuleNotFoundError("No module named 'hearth.memory.service'")
        yield

    broken.system_name = "hearth"  # type: ignore[attr-defined]
    report = bench.run_dataset(load_dataset(dataset), dataset,
                               systems=[broken, lambda: plain(BaselineSystem(BM25Baseline()))])
    assert "hearth.memory.service" in report["systems"]["hearth"]["error"]
    assert report["systems"]["bm25"]["questions"] == 6
    assert {g["met"] for g in report["goals"] if g["name"].startswith("hearth")} == {None}


def test_cli_prints_tables_and_writes_the_json(dataset: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from hearth.cli.main import app

    monkeypatch.setattr(bench, "default_systems", lambda folder: [
        lambda: plain(ServiceSystem(WordOverlapService(), name="hearth")),
        lambda: plain(BaselineSystem(BM25Baseline()))])
    out = tmp_path / "memory.json"
    result = CliRunner().invoke(app, ["bench", "memory", "--dataset", str(dataset),
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "recall@10" in result.output
    assert "single-hop" in result.output
    report = json.loads(out.read_text())
    assert report["benchmark"] == "memory"
    assert report["settings"]["tokenizer"].startswith("all-MiniLM-L6-v2")


def test_cli_needs_a_dataset_or_a_scale() -> None:
    from hearth.cli.main import app

    result = CliRunner().invoke(app, ["bench", "memory"])
    assert result.exit_code != 0


def test_scale_levels_accept_thousands_shorthand() -> None:
    import typer

    from hearth.cli.bench_memory import parse_scale

    assert parse_scale("10k,100_000") == (10_000, 100_000)
    with pytest.raises(typer.BadParameter):
        parse_scale("0")
    with pytest.raises(typer.BadParameter):
        parse_scale("lots")


# -- the scale mode ----------------------------------------------------------------------------


def fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors, one per distinct text, without loading the model."""
    rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]
    matrix = np.array(rows, dtype=np.float32).reshape(len(texts), 384)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class StoreBackedService:
    """Recall straight from the store's full-text index: enough to drive the scale mode."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def recall(self, owner: Owner, question: str, *, now: datetime | None = None,
               limit: int = 10, token_budget: int | None = None) -> list[Any]:
        from hearth.store.memories import fulltext_search, get_many

        ids = [i for i, _ in fulltext_search(self.db, owner, question, limit=limit)]
        return get_many(self.db, owner, ids)


def test_synthetic_memories_are_distinct_and_unit_length() -> None:
    memories = scale.build_synthetic(50, fake_embed, seed=3)
    texts = [memories.text(i) for i in range(len(memories))]
    assert len(set(texts)) == len(texts) >= 50
    vectors = memories.vectors(np.arange(10), np.random.default_rng(0))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_scale_mode_stores_every_user_and_times_recall() -> None:
    report = scale.run_scale([40], users=3, queries=5, service_factory=StoreBackedService,
                             embed=fake_embed)
    [level] = report["levels"]
    assert (level["memories_per_user"], level["total_memories"]) == (40, 120)
    assert level["recall_ms"]["p95"] is not None
    assert level["store_vector_ms"]["p50"] is not None
    # 40 memories a user are fewer than the vector index's prefilter keeps: an exact search.
    assert level["vector_agreement_with_exact"] == {"top_10": 1.0, "top_50": 1.0}
    assert "stop words" in report["settings"]["search"]
    assert report["goals"][0]["met"] is None  # the goal is stated at 100,000 memories
    json.dumps(report)


def test_bulk_written_memories_are_what_the_store_reads_and_searches(tmp_path: Path) -> None:
    from hearth.store import memories as store
    from hearth.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'scale.db'}")
    db.migrate()
    try:
        synthetic = scale.build_synthetic(30, fake_embed, seed=5)
        rng = np.random.default_rng(1)
        start = datetime(2023, 1, 1, tzinfo=UTC)
        alice, bob = Owner("bench", "alice"), Owner("bench", "bob")
        stored = scale.store_synthetic(db, alice, synthetic, 30, rng, start)
        scale.store_synthetic(db, bob, synthetic, 20, rng, start)
        assert store.count_memories(db, alice) == 30
        assert store.count_memories(db, bob) == 20
        [newest] = store.list_memories(db, alice, limit=1)
        assert newest.sources[0].ref == "synthetic:29"
        assert newest.observed_at == start + timedelta(minutes=29)
        found = store.fulltext_search(db, alice, newest.text, limit=5)
        assert newest.id in [i for i, _ in found]
        nearest = store.vector_search(db, alice, fake_embed([newest.text])[0], limit=30)
        assert len(nearest) == 30
        assert {i for i, _ in nearest} == {m.id for m in store.list_memories(db, alice)}
        question = fake_embed(["a question"])[0]
        assert stored.nearest(question, 5) == [
            i for i, _ in store.vector_search(db, alice, question, limit=5)]
    finally:
        db.dispose()
