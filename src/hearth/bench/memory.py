"""``hearth bench memory``: does hearth's memory find what answers a question, and how fast?

Two modes.

**Dataset** (LoCoMo format, see ``hearth.bench.locomo``). Each conversation is one user's
memory: every turn goes through production's write path (``MemoryService.remember``) at its
session's time, with its ``dia_id`` as provenance. For each question of categories 1-4,
production's recall (``MemoryService.recall``, ``now`` = the last session's time) ranks
memories, and a question's *recall* is the share of its evidence ``dia_id``s found in the
provenance of the memories returned:

- ``recall@5``, ``recall@10``: in the first 5 / 10 memories of ``recall(limit=10)``;
- ``recall in 1000 tokens``: in the memories taken in rank order from ``recall(limit=200)``
  while their text as the system prompt renders it (a line per memory, under a line per day)
  stays within 1,000 tokens (counted with the all-MiniLM-L6-v2 WordPiece tokenizer, no
  special tokens); a memory that would go over is skipped, as production's recall with a
  token budget skips it.

Figures are averaged over questions, overall and per category. Two baselines over raw turns
(``hearth.bench.baselines``: BM25 and MiniLM cosine) are scored the same way in the same run.
Also timed: each ``remember`` call (ingest per turn) and each ``recall(limit=10)`` call. No
engine runs here, so the embedder has the threads of a deployment without a local one.

**Scale**: recall latency with N synthetic memories for each of 10 users
(``hearth.bench.memory_scale``).

What is scored and summed up lives in ``memory_scoring``, the systems compared in
``memory_systems``; this module runs the dataset mode.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearth.bench.baselines import BM25Baseline, MiniLMBaseline
from hearth.bench.locomo import CATEGORIES, Conversation, Question
from hearth.bench.machine import machine_info
from hearth.bench.memory_scoring import (
    BUDGET_POOL,
    BUDGET_TOKENS,
    PACKAGES,
    RANKS,
    RECALL_LIMIT,
    Log,
    MiniLMTokens,
    QuestionResult,
    RecallSystem,
    SystemRun,
    TokenCount,
    goal,
    recall_of,
    summarise,
    within_budget,
)
from hearth.bench.memory_systems import BaselineSystem, embedder_threads, hearth_system

GOAL_RECALL_AT_10 = 0.80
GOAL_RECALL_IN_BUDGET = 0.90
GOAL_INGEST_P95_MS = 30.0
GOAL_DATASET_WALL_S = 600.0


def benchmarked(conversation: Conversation) -> list[Question]:
    """The questions that are scored: categories 1-4, with at least one evidence turn."""
    return [q for q in conversation.questions if q.category in CATEGORIES and q.evidence]


def measure(system: RecallSystem, conversations: Sequence[Conversation], count: TokenCount,
            log: Log = lambda _: None) -> SystemRun:
    """Ingest each conversation into ``system`` and score every benchmarked question."""
    run = SystemRun(system.name)
    for conversation in conversations:
        start = time.perf_counter()
        run.ingest_s.extend(system.ingest(conversation))
        elapsed = time.perf_counter() - start
        run.index_s += elapsed
        run.turns += len(conversation.turns)
        questions = benchmarked(conversation)
        log(f"{system.name}: {conversation.name}: {len(conversation.turns)} turns in "
            f"{elapsed:.1f} s, {len(questions)} questions")
        for question in questions:
            start = time.perf_counter()
            ranked = system.search(conversation, question.text, RECALL_LIMIT)
            latency = time.perf_counter() - start
            pool = system.search(conversation, question.text, BUDGET_POOL)
            budgeted, tokens = within_budget(pool, BUDGET_TOKENS, count)
            run.questions.append(QuestionResult(
                conversation=conversation.name, question=question.text,
                category=question.category, evidence=len(question.evidence),
                recall_at={k: recall_of(ranked[:k], question.evidence) for k in RANKS},
                recall_in_budget=recall_of(budgeted, question.evidence),
                budget_items=len(budgeted), budget_tokens=tokens, latency_s=latency,
            ))
    return run


def dataset_summary(conversations: Sequence[Conversation], folder: Path) -> dict[str, Any]:
    skipped = sum(1 for c in conversations for q in c.questions
                  if q.category in CATEGORIES and not q.evidence)
    unknown = sum(1 for c in conversations for q in benchmarked(c)
                  for e in q.evidence if e not in {t.dia_id for t in c.turns})
    return {
        "path": str(folder),
        "conversations": [c.name for c in conversations],
        "turns": sum(len(c.turns) for c in conversations),
        "questions": sum(len(benchmarked(c)) for c in conversations),
        "questions_without_evidence_skipped": skipped,
        "evidence_ids_not_in_conversation": unknown,
        "categories": {str(k): v for k, v in CATEGORIES.items()},
    }


def run_dataset(conversations: Sequence[Conversation], folder: Path,
                systems: Sequence[Callable[[], Any]] | None = None,
                count: TokenCount | None = None, log: Log = lambda _: None) -> dict[str, Any]:
    """Measure hearth and the baselines on a loaded dataset; returns the JSON report.

    ``systems`` are factories returning a context manager that yields a ``RecallSystem``
    (default: hearth on a fresh database, BM25, MiniLM). A system that fails is recorded
    with its error; the others are still measured.
    """
    started = time.perf_counter()
    count = count or MiniLMTokens()
    runs: dict[str, SystemRun] = {}
    with tempfile.TemporaryDirectory(prefix="hearth-bench-memory-") as tmp:
        factories = systems if systems is not None else default_systems(Path(tmp))
        for factory in factories:
            try:
                with factory() as system:
                    runs[system.name] = measure(system, conversations, count, log)
            except Exception as error:  # recorded, so one broken system does not hide others
                name = getattr(factory, "system_name", getattr(factory, "__name__", "system"))
                log(f"{name} failed: {type(error).__name__}: {error}")
                runs[name] = SystemRun(name, error=f"{type(error).__name__}: {error}")
    wall = time.perf_counter() - started
    summaries = {name: summarise(run) for name, run in runs.items()}
    return {
        "benchmark": "memory",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(PACKAGES),
        "dataset": dataset_summary(conversations, folder),
        "settings": {"recall_limit": RECALL_LIMIT, "ranks": list(RANKS),
                     "budget_tokens": BUDGET_TOKENS, "budget_pool": BUDGET_POOL,
                     "tokenizer": getattr(count, "name", repr(count)),
                     "now": "the conversation's last session time",
                     "embedder_threads": embedder_threads()},
        "wall_s": wall,
        "systems": summaries,
        "goals": dataset_goals(summaries.get("hearth"), wall),
    }


@contextmanager
def _plain(system: RecallSystem) -> Iterator[RecallSystem]:
    yield system


def default_systems(folder: Path) -> list[Callable[[], Any]]:
    def hearth() -> Any:
        return hearth_system(folder)

    def bm25() -> Any:
        return _plain(BaselineSystem(BM25Baseline()))

    def minilm() -> Any:
        return _plain(BaselineSystem(MiniLMBaseline()))

    for factory, name in ((hearth, "hearth"), (bm25, "bm25"), (minilm, "minilm")):
        factory.system_name = name  # type: ignore[attr-defined]
    return [hearth, bm25, minilm]


def dataset_goals(hearth: dict[str, Any] | None, wall_s: float) -> list[dict[str, Any]]:
    """The issue's goals for this mode; ``met`` is None where hearth was not measured."""
    ok = hearth is not None and not hearth["error"]
    recall = hearth["recall"] if ok else {}
    return [
        goal("hearth recall@10", f">= {GOAL_RECALL_AT_10}",
              recall.get("recall_at_10", {}).get("overall"), lambda v: v >= GOAL_RECALL_AT_10),
        goal(f"hearth recall in {BUDGET_TOKENS} tokens", f">= {GOAL_RECALL_IN_BUDGET}",
              recall.get(f"recall_in_{BUDGET_TOKENS}_tokens", {}).get("overall"),
              lambda v: v >= GOAL_RECALL_IN_BUDGET),
        goal("hearth ingest p95 per turn (ms, no LLM)", f"<= {GOAL_INGEST_P95_MS}",
              hearth["ingest"]["per_turn_ms"]["p95"] if ok else None,
              lambda v: v <= GOAL_INGEST_P95_MS),
        goal("whole run (s)", f"< {GOAL_DATASET_WALL_S:.0f}", wall_s,
              lambda v: v < GOAL_DATASET_WALL_S),
    ]
