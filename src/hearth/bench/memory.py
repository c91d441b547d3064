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

**Scale**: recall latency with N synthetic memories for each of 10 users (``run_scale``).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hearth.bench.baselines import BM25Baseline, MiniLMBaseline, render_turn
from hearth.bench.engine import percentile
from hearth.bench.locomo import CATEGORIES, Conversation, Question, Turn
from hearth.bench.machine import machine_info
from hearth.store.memories import Owner, SourceRef

Log = Callable[[str], None]
TokenCount = Callable[[str], int]

RANKS = (5, 10)
RECALL_LIMIT = 10  # production's default page of memories, the call that is timed
BUDGET_TOKENS = 1000
BUDGET_POOL = 200  # memories asked for when filling the budget; far more than 1,000 tokens hold
ORG = "bench"

GOAL_RECALL_AT_10 = 0.80
GOAL_RECALL_IN_BUDGET = 0.90
GOAL_RECALL_P95_MS = 50.0  # at GOAL_SCALE memories
GOAL_SCALE = 100_000
GOAL_INGEST_P95_MS = 30.0
GOAL_DATASET_WALL_S = 600.0
# The libraries whose versions a report records: what stores, embeds and ranks.
PACKAGES = ("sqlite-vec", "pysqlite3-binary", "onnxruntime", "tokenizers", "bm25s", "PyStemmer")


# -- what is measured ------------------------------------------------------------------------


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


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def by_category(results: Sequence[QuestionResult],
                value: Callable[[QuestionResult], float]) -> dict[str, float | None]:
    """The mean of ``value`` over all questions (``overall``) and over each category's."""
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
        "recall_latency_ms": {"p50": _ms(percentile(latencies, 50)),
                              "p95": _ms(percentile(latencies, 95)),
                              "limit": RECALL_LIMIT},
        "ingest": {
            "turns": run.turns,
            "per_turn_ms": {"p50": _ms(percentile(run.ingest_s, 50)),
                            "p95": _ms(percentile(run.ingest_s, 95))},
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


# -- the systems -------------------------------------------------------------------------------


class MemoryServiceLike(Protocol):
    def remember(self, owner: Owner, text: str, *, speaker: str, said_at: datetime,
                 source: SourceRef, previous: str | None = None,
                 previous_speaker: str | None = None,
                 previous_source: SourceRef | None = None) -> None: ...

    def recall(self, owner: Owner, question: str, *, now: datetime | None = None,
               limit: int = 10, token_budget: int | None = None) -> list[Any]: ...


def memory_text(recalled: Any) -> str:
    """A recalled memory's bare text (production's rendering is ``hearth_system``'s)."""
    return recalled.memory.text


def cite_turn(owner: Owner, turn: Turn) -> SourceRef:
    """A turn as a memory's source, by its ``dia_id`` (what recall is scored on)."""
    return SourceRef(ref=turn.dia_id, excerpt=turn.text)


class ServiceSystem:
    """A memory service driven as production drives it: one ``remember`` per message, one
    ``recall`` per question. Each conversation is its own user (``Owner("bench", name)``)."""

    def __init__(self, service: MemoryServiceLike, name: str = "hearth",
                 render: Callable[[Any], str] = memory_text,
                 record: Callable[[Owner, Turn], SourceRef] = cite_turn,
                 heading: Callable[[Any], str | None] = lambda _: None) -> None:
        self.service = service
        self.name = name
        self._render = render
        self._record = record
        self._heading = heading

    @staticmethod
    def owner(conversation: Conversation) -> Owner:
        return Owner(ORG, conversation.name)

    def ingest(self, conversation: Conversation) -> list[float]:
        owner = self.owner(conversation)
        seconds = []
        previous: tuple[Turn, SourceRef] | None = None
        for turn in conversation.turns:
            source = self._record(owner, turn)
            before = previous if previous is not None and previous[0].session == turn.session \
                else None
            start = time.perf_counter()
            self.service.remember(
                owner, turn.text, speaker=turn.speaker, said_at=turn.said_at, source=source,
                previous=before[0].text if before else None,
                previous_speaker=before[0].speaker if before else None,
                previous_source=before[1] if before else None,
            )
            seconds.append(time.perf_counter() - start)
            previous = (turn, source)
        return seconds

    def search(self, conversation: Conversation, question: str, k: int) -> list[Hit]:
        recalled = self.service.recall(self.owner(conversation), question,
                                       now=conversation.last_time, limit=k)
        return [Hit(sources=tuple(s.ref for s in r.memory.sources if s.ref),
                    text=self._render(r), heading=self._heading(r)) for r in recalled]


class TurnRetriever(Protocol):
    name: str

    def index(self, turns: Sequence[Turn]) -> None: ...

    def search(self, question: str, k: int) -> list[Turn]: ...


class BaselineSystem:
    """A raw-turn retriever (``hearth.bench.baselines``), indexed one conversation at a time."""

    def __init__(self, retriever: TurnRetriever) -> None:
        self.retriever = retriever
        self.name = retriever.name
        self._current: str | None = None

    def ingest(self, conversation: Conversation) -> list[float]:
        self.retriever.index(conversation.turns)
        self._current = conversation.name
        return []

    def search(self, conversation: Conversation, question: str, k: int) -> list[Hit]:
        if conversation.name != self._current:
            raise RuntimeError(f"{self.name} holds {self._current!r}, not {conversation.name!r}")
        return [Hit(sources=(t.dia_id,), text=render_turn(t))
                for t in self.retriever.search(question, k)]


def embedder_threads() -> int:
    """The embedder's threads here: those of a deployment without a local engine (as
    configured, else the free cores), since no engine runs in this benchmark."""
    from hearth.config import Settings

    return Settings(engine="upstream").resolved_embedder_threads


@contextmanager
def hearth_system(folder: Path) -> Iterator[ServiceSystem]:
    """Production's memory service on a fresh SQLite database in ``folder``; memories are
    rendered (and counted against the budget) as the system prompt shows them
    (``hearth.memory.recall.render_memories``): a line each, under a line per day."""
    from hearth.memory.embedder import Embedder
    from hearth.memory.recall import day_heading
    from hearth.memory.service import MemoryService
    from hearth.store import conversations
    from hearth.store.db import Database

    db = Database(f"sqlite:///{folder / 'memory.db'}")
    db.migrate()
    started: set[str] = set()

    def record(owner: Owner, turn: Turn) -> SourceRef:
        """Store the turn as production stores a chat message (a conversation per session),
        so that its memories cite the message as well as the ``dia_id``."""
        conversation_id = f"{owner.user_id}-session-{turn.session}"
        if conversation_id not in started:
            conversations.start_conversation(db, model="locomo", conversation_id=conversation_id,
                                             org_id=owner.org_id, user_id=owner.user_id)
            started.add(conversation_id)
        [message_id] = conversations.append_messages(
            db, conversation_id, [{"role": "user", "name": turn.speaker, "content": turn.text}],
            org_id=owner.org_id, user_id=owner.user_id)
        return SourceRef(message_id=message_id, conversation_id=conversation_id,
                         ref=turn.dia_id, excerpt=turn.text)

    try:
        service = MemoryService(db, Embedder(threads=embedder_threads()))
        service.embedder.embed(["warm up"])  # load the model before anything is timed
        yield ServiceSystem(service, record=record,
                            heading=lambda hit: day_heading(hit.memory))
    finally:
        db.dispose()


# -- the dataset run ---------------------------------------------------------------------------


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


def _goal(name: str, target: str, measured: float | None,
          met: Callable[[float], bool]) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured,
            "met": None if measured is None else bool(met(measured))}


def dataset_goals(hearth: dict[str, Any] | None, wall_s: float) -> list[dict[str, Any]]:
    """The issue's goals for this mode; ``met`` is None where hearth was not measured."""
    ok = hearth is not None and not hearth["error"]
    recall = hearth["recall"] if ok else {}
    return [
        _goal("hearth recall@10", f">= {GOAL_RECALL_AT_10}",
              recall.get("recall_at_10", {}).get("overall"), lambda v: v >= GOAL_RECALL_AT_10),
        _goal(f"hearth recall in {BUDGET_TOKENS} tokens", f">= {GOAL_RECALL_IN_BUDGET}",
              recall.get(f"recall_in_{BUDGET_TOKENS}_tokens", {}).get("overall"),
              lambda v: v >= GOAL_RECALL_IN_BUDGET),
        _goal("hearth ingest p95 per turn (ms, no LLM)", f"<= {GOAL_INGEST_P95_MS}",
              hearth["ingest"]["per_turn_ms"]["p95"] if ok else None,
              lambda v: v <= GOAL_INGEST_P95_MS),
        _goal("whole run (s)", f"< {GOAL_DATASET_WALL_S:.0f}", wall_s,
              lambda v: v < GOAL_DATASET_WALL_S),
    ]






# -- the scale run -----------------------------------------------------------------------------

USERS = 10
SCALE_QUERIES = 200
SCALE_WARMUP = 10
BANK_MAX = 20_000
PERTURBATION = 0.02  # per-dimension noise (std) added to a reused vector before normalising
INSERT_BATCH = 2_000

_NAMES = ("Alice", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
          "Keiko", "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara",
          "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Marco", "Priya", "Oscar", "Lena")
_RELATIONS = ("sister", "brother", "mother", "father", "cousin", "neighbour", "colleague",
              "manager", "best friend", "partner", "son", "daughter", "aunt", "uncle", "coach")
_PLACES = ("Lisbon", "Osaka", "Denver", "the lake house", "the office", "the gym", "Nairobi",
           "the farmers market", "Berlin", "the library", "Toronto", "the beach", "Seoul",
           "the mountains", "a small cafe downtown", "Buenos Aires", "the community garden",
           "Edinburgh", "the climbing hall", "Marrakesh")
_THINGS = ("a red bicycle", "a used piano", "hiking boots", "a sourdough starter",
           "a vintage camera", "a telescope", "running shoes", "a chess set", "a kayak",
           "a ceramic teapot", "a drawing tablet", "a tent", "an espresso machine",
           "a bonsai tree", "a violin", "noise-cancelling headphones", "a sewing machine",
           "a board game", "a rescue dog", "a fountain pen")
_ACTIVITIES = ("learning Spanish", "painting watercolours", "training for a marathon",
               "baking bread", "playing the guitar", "rock climbing", "volunteering at a shelter",
               "writing a novel", "studying for the bar exam", "growing tomatoes",
               "practising yoga", "restoring old furniture", "birdwatching", "learning to code",
               "swimming laps", "knitting scarves", "photographing street art",
               "coaching a youth football team", "brewing beer", "learning chess openings")
_FOODS = ("spicy ramen", "mushroom risotto", "lemon tart", "black coffee", "green tea",
          "tacos al pastor", "falafel wraps", "dark chocolate", "pho", "paneer tikka",
          "blueberry pancakes", "sushi", "lentil soup", "apple pie", "kimchi fried rice")
_WHEN = ("last week", "in March", "two years ago", "over the summer", "every Sunday",
         "since college", "next month", "on my birthday", "after the move", "during the holidays",
         "this spring", "in 2019", "most evenings", "before work", "on weekends")
_CORES = (
    "My {relation} {name} started {activity} at {place}",
    "I bought {thing} for my {relation} {name}",
    "{name} and I went to {place} to celebrate",
    "I prefer {food} over {food2} when I eat out",
    "My {relation} {name} moved to {place} for a new job",
    "I have been {activity} with {name}",
    "{name} gave me {thing} as a gift",
    "I am allergic to {food} so I avoid it at {place}",
    "We are planning a trip to {place} with my {relation}",
    "I lost {thing} at {place}",
    "My favourite meal is {food} from {place}",
    "{name} taught me {activity}",
)
_TAILS = ("", " last week", " in March", " two years ago", " over the summer",
          " on a rainy afternoon", " with my family", " after a long day", " during the holidays",
          " this spring", " in 2019", " before work", " on the weekend", " by accident",
          " for the first time", " once again", " with some friends", " on a whim",
          " after the move", " without telling anyone")
_QUESTIONS = (
    "What is my {relation} {name} learning?",
    "Where did I go with {name}?",
    "What food do I prefer?",
    "What did I buy for my {relation}?",
    "Where did {name} move to?",
    "What am I allergic to?",
    "Where are we planning a trip to {when}?",
    "What did {name} give me?",
    "What did I lose at {place}?",
    "What is my favourite meal?",
    "Who taught me {activity}?",
    "What have I been doing with {name} {when}?",
)


def _fill(template: str, rng: random.Random) -> str:
    food, food2 = rng.sample(_FOODS, 2)
    return template.format(name=rng.choice(_NAMES), relation=rng.choice(_RELATIONS),
                           place=rng.choice(_PLACES), thing=rng.choice(_THINGS),
                           activity=rng.choice(_ACTIVITIES), food=food, food2=food2,
                           when=rng.choice(_WHEN))


def sentence_bank(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct generated statements (the cores of synthetic memories)."""
    seen: dict[str, None] = {}
    attempts = 0
    while len(seen) < size:
        attempts += 1
        if attempts > size * 50:
            raise ValueError(f"the templates cannot make {size} distinct sentences")
        seen.setdefault(_fill(rng.choice(_CORES), rng), None)
    return list(seen)


def synthetic_questions(count: int, rng: random.Random) -> list[str]:
    return [_fill(rng.choice(_QUESTIONS), rng) for _ in range(count)]


@dataclass(frozen=True)
class SyntheticMemories:
    """Distinct memory texts with vectors: core sentence × tail phrase, where the vector is
    the core's embedding plus a little of the tail's, perturbed and renormalised."""

    cores: list[str]
    core_vectors: np.ndarray
    tail_vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.cores) * len(_TAILS)

    def text(self, index: int) -> str:
        core, tail = divmod(index, len(_TAILS))
        return self.cores[core] + _TAILS[tail] + "."

    def vectors(self, indexes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        core, tail = np.divmod(indexes, len(_TAILS))
        rows = self.core_vectors[core] + 0.3 * self.tail_vectors[tail]
        rows = rows + rng.normal(0.0, PERTURBATION, rows.shape).astype(np.float32)
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def build_synthetic(memories_per_user: int, embed: Callable[[list[str]], np.ndarray],
                    seed: int) -> SyntheticMemories:
    """Embed a bank of core sentences (and the tails) once, enough for ``memories_per_user``
    distinct memories per user."""
    rng = random.Random(seed)
    bank = min(BANK_MAX, max(1, -(-memories_per_user // len(_TAILS)) * 4))
    cores = sentence_bank(bank, rng)
    tails = embed([t.strip() or "." for t in _TAILS])
    return SyntheticMemories(cores, embed(cores), tails)


@dataclass(frozen=True)
class StoredVectors:
    """The vectors written for one owner, by memory id: what an exact search would rank."""

    ids: np.ndarray
    vectors: np.ndarray

    def nearest(self, vector: np.ndarray, limit: int) -> list[int]:
        """Memory ids by exact cosine similarity (the vectors are unit length), best first."""
        similarity = self.vectors @ vector
        top = np.argpartition(-similarity, min(limit, len(similarity)) - 1)[:limit]
        return [int(self.ids[i]) for i in top[np.argsort(-similarity[top])]]


def store_synthetic(db: Any, owner: Owner, memories: SyntheticMemories, count: int,
                    rng: np.random.Generator, start: datetime) -> StoredVectors:
    """Write ``count`` distinct memories for ``owner`` through the store's bulk path
    (``add_memories_bulk``: the rows and index entries ``add_memory`` writes, set-based),
    ``INSERT_BATCH`` per transaction; returns their ids and vectors."""
    from hearth.store.memories import NewMemory, add_memories_bulk

    chosen = rng.choice(len(memories), size=count, replace=False)
    ids: list[int] = []
    written = []
    for offset in range(0, count, INSERT_BATCH):
        batch = chosen[offset:offset + INSERT_BATCH]
        vectors = memories.vectors(batch, rng)
        ids += add_memories_bulk(db, owner, [
            NewMemory(kind="fact", text=memories.text(int(index)), embedding=vector,
                      observed_at=start + timedelta(minutes=offset + i),
                      sources=(SourceRef(ref=f"synthetic:{offset + i}"),))
            for i, (index, vector) in enumerate(zip(batch, vectors, strict=True))])
        written.append(vectors)
    return StoredVectors(np.array(ids), np.concatenate(written))


def agreement(found: Sequence[int], exact: Sequence[int]) -> float:
    """Share of an exact search's hits that a search found (in any order)."""
    return len(set(found) & set(exact)) / len(exact) if exact else 1.0


def run_scale(levels: Sequence[int], *, users: int = USERS, queries: int = SCALE_QUERIES,
              seed: int = 1234, service_factory: Callable[[Any], Any] | None = None,
              embed: Callable[[list[str]], np.ndarray] | None = None,
              log: Log = lambda _: None) -> dict[str, Any]:
    """Recall latency with N memories for each of ``users`` users, for each N in ``levels``.

    Each level gets a fresh database. Questions are asked of user 0 through production's
    ``recall(limit=10)``; the store's full-text and vector searches are timed alone too, to
    show where the time goes, and the vector search's hits are compared with an exact search
    of user 0's vectors (SQLite's index ranks candidates that sign bits chose).
    """
    from hearth.store.db import Database
    from hearth.store.memories import STOP_WORDS_FROM, fulltext_search, vector_search
    from hearth.store.search_sqlite import PREFILTER, RANKED_MAX, SHARDS

    if embed is None:
        from hearth.memory.embedder import shared_embedder

        embed = shared_embedder().embed
    if service_factory is None:
        from hearth.memory.service import MemoryService

        service_factory = MemoryService
    started = time.perf_counter()
    results = []
    for level in levels:
        level_started = time.perf_counter()
        start = time.perf_counter()
        memories = build_synthetic(level, embed, seed)
        embed_s = time.perf_counter() - start
        log(f"scale {level}: embedded a bank of {len(memories.cores)} sentences in "
            f"{embed_s:.1f} s")
        rng = np.random.default_rng(seed)
        origin = datetime(2023, 1, 1, tzinfo=UTC)
        with tempfile.TemporaryDirectory(prefix="hearth-bench-scale-") as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'memory.db'}")
            db.migrate()
            try:
                start = time.perf_counter()
                for user in range(users):
                    stored = store_synthetic(db, Owner(ORG, f"user-{user}"), memories, level,
                                             rng, origin)
                    if user == 0:
                        user_0_vectors = stored
                    log(f"scale {level}: user {user + 1}/{users} stored "
                        f"({time.perf_counter() - start:.0f} s)")
                store_s = time.perf_counter() - start
                owner = Owner(ORG, "user-0")
                now = origin + timedelta(minutes=level)
                service = service_factory(db)
                asked = synthetic_questions(queries + SCALE_WARMUP, random.Random(seed + 1))
                for question in asked[:SCALE_WARMUP]:
                    service.recall(owner, question, now=now, limit=RECALL_LIMIT)
                # Each kind of work in a pass of its own: the exact search reads 150 MB of
                # floats per question at 100,000 memories, and a recall right after it found
                # the CPU's caches emptied (p50 39 to 53 ms).
                recall_s, fulltext_s, vector_s, returned = [], [], [], []
                questions = asked[SCALE_WARMUP:]
                for question in questions:
                    begin = time.perf_counter()
                    found = service.recall(owner, question, now=now, limit=RECALL_LIMIT)
                    recall_s.append(time.perf_counter() - begin)
                    returned.append(len(found))
                for question in questions:
                    begin = time.perf_counter()
                    fulltext_search(db, owner, question, limit=50)
                    fulltext_s.append(time.perf_counter() - begin)
                vectors = embed(questions)
                nearest_found = []
                for vector in vectors:
                    begin = time.perf_counter()
                    nearest_found.append(vector_search(db, owner, vector, limit=50))
                    vector_s.append(time.perf_counter() - begin)
                agree_10, agree_50 = [], []
                for vector, nearest in zip(vectors, nearest_found, strict=True):
                    exact = user_0_vectors.nearest(vector, 50)
                    found_ids = [i for i, _ in nearest]
                    agree_10.append(agreement(found_ids[:10], exact[:10]))
                    agree_50.append(agreement(found_ids, exact))
                db_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
            finally:
                db.dispose()
        results.append({
            "memories_per_user": level, "users": users, "total_memories": level * users,
            "bank_sentences": len(memories.cores), "queries": queries,
            "embed_bank_s": embed_s, "store_s": store_s,
            "store_per_memory_ms": store_s * 1000 / (level * users),
            "database_bytes": db_bytes,
            "mean_returned": mean(returned),
            "recall_ms": _percentiles(recall_s),
            "store_fulltext_ms": _percentiles(fulltext_s),
            "store_vector_ms": _percentiles(vector_s),
            "vector_agreement_with_exact": {"top_10": mean(agree_10), "top_50": mean(agree_50)},
            "wall_s": time.perf_counter() - level_started,
        })
        log(f"scale {level}: recall p50 {results[-1]['recall_ms']['p50']:.1f} ms, "
            f"p95 {results[-1]['recall_ms']['p95']:.1f} ms")
    at_goal = next((r for r in results if r["memories_per_user"] == GOAL_SCALE), None)
    return {
        "benchmark": "memory-scale",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(PACKAGES),
        "settings": {
            "users": users, "queries": queries, "warmup_queries": SCALE_WARMUP,
            "recall_limit": RECALL_LIMIT, "seed": seed,
            "timing": ("after the warm-up questions, recall is timed over every question back "
                       "to back; then the store's full-text and vector searches alone, each "
                       "in a pass of its own; the exact search for agreement is not timed"),
            "synthetic": (
                "Memory texts are a generated core sentence plus one of "
                f"{len(_TAILS)} tail phrases, distinct within a user. The cores (a bank of at "
                f"most {BANK_MAX}) and tails are embedded once with all-MiniLM-L6-v2; a "
                "memory's vector is core + 0.3 × tail plus Gaussian noise "
                f"(std {PERTURBATION} per dimension), renormalised. Memories are written "
                "through hearth.store.memories.add_memories_bulk, "
                f"{INSERT_BATCH} per transaction. "
                "Questions are generated from templates over the same vocabulary and include "
                "embedding the question."),
            "search": (
                "SQLite. Full text: FTS5 bm25 over the question's words in the user's rowid "
                f"range, stop words left out from {STOP_WORDS_FROM:,} memories per user, and "
                f"the commonest words left out where ranking would pass {RANKED_MAX:,} "
                "memories. Recall runs it in a thread beside the question's embedding and "
                f"vector search. Vectors: {PREFILTER} candidates "
                f"by Hamming distance of sign bits ({SHARDS} shards per user), ranked by exact "
                "cosine; vector_agreement_with_exact is the share of an exact search's top 10 "
                "and top 50 (numpy over user 0's stored vectors) that the store's "
                "vector_search(limit=50) returned."),
        },
        "wall_s": time.perf_counter() - started,
        "levels": results,
        "goals": [_goal(f"hearth recall p95 at {GOAL_SCALE:,} memories (ms)",
                        f"<= {GOAL_RECALL_P95_MS:.0f}",
                        at_goal["recall_ms"]["p95"] if at_goal else None,
                        lambda v: v <= GOAL_RECALL_P95_MS)],
    }


def _percentiles(seconds: Sequence[float]) -> dict[str, float | None]:
    return {"p50": _ms(percentile(seconds, 50)), "p95": _ms(percentile(seconds, 95)),
            "max": _ms(max(seconds)) if seconds else None}
