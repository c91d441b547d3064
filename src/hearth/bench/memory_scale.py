"""``hearth bench memory --scale``: recall latency with N synthetic memories for each of 10
users, on the store's bulk write path."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from hearth.bench.engine import percentile
from hearth.bench.machine import machine_info
from hearth.bench.memory_scoring import PACKAGES, RECALL_LIMIT, Log, goal, mean, milliseconds
from hearth.bench.memory_systems import ORG
from hearth.store.memories import Owner, SourceRef

GOAL_RECALL_P95_MS = 50.0  # at GOAL_SCALE memories
GOAL_SCALE = 100_000


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
        "goals": [goal(f"hearth recall p95 at {GOAL_SCALE:,} memories (ms)",
                        f"<= {GOAL_RECALL_P95_MS:.0f}",
                        at_goal["recall_ms"]["p95"] if at_goal else None,
                        lambda v: v <= GOAL_RECALL_P95_MS)],
    }


def _percentiles(seconds: Sequence[float]) -> dict[str, float | None]:
    return {"p50": milliseconds(percentile(seconds, 50)),
            "p95": milliseconds(percentile(seconds, 95)),
            "max": milliseconds(max(seconds)) if seconds else None}
