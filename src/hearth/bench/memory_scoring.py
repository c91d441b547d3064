"""What ``hearth bench memory`` measures (recall of evidence turns, within a token budget) and how
a run's figures are summed up for the report."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from hearth.bench.engine import percentile
from hearth.bench.locomo import CATEGORIES, Conversation

Log = Callable[[str], None]
TokenCount = Callable[[str], int]

RANKS = (5, 10)
RECALL_LIMIT = 10  # production's default page of memories, the call that is timed
BUDGET_TOKENS = 1000
BUDGET_POOL = 200  # memories asked for when filling the budget; far more than 1,000 tokens hold
# The libraries whose versions a report records: what stores, embeds and ranks.
PACKAGES = ("sqlite-vec", "pysqlite3-binary", "onnxruntime", "tokenizers", "bm25s", "PyStemmer")


@dataclass(frozen=True)
class Hit:
    """One retrieved item: the turns it came from, the text a prompt would show, and the
    heading that text is shown under (a day), written once for all the hits under it."""

    sources: tuple[str, ...]
    text: str
    heading: str | None = None


class RecallSystem(Protocol):
    """A system under test: it takes a conversation in, then answers questions about it."""

    name: str

    def ingest(self, conversation: Conversation) -> list[float]:
        """Make the conversation searchable; seconds per turn where it is taken turn by turn."""
        ...

    def search(self, conversation: Conversation, question: str, k: int) -> list[Hit]:
        """At most k hits, best first."""
        ...


def evidence_found(hits: Sequence[Hit], evidence: Sequence[str]) -> int:
    """How many of the evidence ids appear in the hits' provenance."""
    seen = {source for hit in hits for source in hit.sources}
    return sum(1 for item in evidence if item in seen)


def recall_of(hits: Sequence[Hit], evidence: Sequence[str]) -> float:
    """Share of the evidence found in the hits (a question without evidence has none to find)."""
    if not evidence:
        raise ValueError("recall of a question without evidence is undefined")
    return evidence_found(hits, evidence) / len(evidence)


def within_budget(hits: Sequence[Hit], budget: int, count: TokenCount) -> tuple[list[Hit], int]:
    """The hits whose rendered text fits in ``budget`` tokens, and the tokens used.

    Taken in rank order, as production's ``recall(token_budget=...)`` fills the system
    prompt: a hit that would go over is skipped, and a shorter one after it may still fit.
    """
    taken: list[Hit] = []
    headings: set[str] = set()
    used = 0
    for hit in hits:
        tokens = count(hit.text)
        if hit.heading is not None and hit.heading not in headings:
            tokens += count(hit.heading)
        if used + tokens > budget:
            continue
        taken.append(hit)
        used += tokens
        if hit.heading is not None:
            headings.add(hit.heading)
    return taken, used


class MiniLMTokens:
    """Token counts by all-MiniLM-L6-v2's WordPiece tokenizer, without [CLS]/[SEP] and
    without the truncation the model applies when embedding (at 256 tokens)."""

    name = "all-MiniLM-L6-v2 WordPiece (no special tokens)"

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        from hearth.memory.embedder import model_dir

        self._tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


@dataclass(frozen=True)
class QuestionResult:
    conversation: str
    question: str
    category: int
    evidence: int
    recall_at: dict[int, float]
    recall_in_budget: float
    budget_items: int
    budget_tokens: int
    latency_s: float


@dataclass
class SystemRun:
    """Everything measured for one system over the whole dataset."""

    name: str
    ingest_s: list[float] = field(default_factory=list)
    index_s: float = 0.0
    turns: int = 0
    questions: list[QuestionResult] = field(default_factory=list)
    error: str | None = None


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


class Categorised(Protocol):
    @property
    def category(self) -> int: ...


Result = TypeVar("Result", bound=Categorised)


def by_category(results: Sequence[Result],
                value: Callable[[Result], float]) -> dict[str, float | None]:
    """The mean of ``value`` over all questions (``overall``) and over each category's: for
    recall's results and for answers' alike."""
    figures = {"overall": mean([value(r) for r in results])}
    for number, label in CATEGORIES.items():
        figures[label] = mean([value(r) for r in results if r.category == number])
    return figures


def summarise(run: SystemRun) -> dict[str, Any]:
    """A system's figures as they go into the JSON report."""
    results = run.questions
    recall = {f"recall_at_{k}": by_category(results, lambda r, k=k: r.recall_at[k])
              for k in RANKS}
    recall[f"recall_in_{BUDGET_TOKENS}_tokens"] = by_category(results,
                                                              lambda r: r.recall_in_budget)
    latencies = [r.latency_s for r in results]
    return {
        "error": run.error,
        "recall": recall,
        "questions": len(results),
        "questions_per_category": {label: sum(1 for r in results if r.category == number)
                                   for number, label in CATEGORIES.items()},
        "budget": {"mean_items": mean([r.budget_items for r in results]),
                   "mean_tokens": mean([r.budget_tokens for r in results])},
        "recall_latency_ms": {"p50": milliseconds(percentile(latencies, 50)),
                              "p95": milliseconds(percentile(latencies, 95)),
                              "limit": RECALL_LIMIT},
        "ingest": {
            "turns": run.turns,
            "per_turn_ms": {"p50": milliseconds(percentile(run.ingest_s, 50)),
                            "p95": milliseconds(percentile(run.ingest_s, 95))},
            "total_s": run.index_s,
        },
        "per_question": [
            {"conversation": r.conversation, "question": r.question, "category": r.category,
             "evidence": r.evidence,
             **{f"recall_at_{k}": r.recall_at[k] for k in RANKS},
             "recall_in_budget": r.recall_in_budget, "latency_ms": round(r.latency_s * 1000, 3)}
            for r in results
        ],
    }


def goal(name: str, target: str, measured: float | None,
          met: Callable[[float], bool]) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured,
            "met": None if measured is None else bool(met(measured))}
