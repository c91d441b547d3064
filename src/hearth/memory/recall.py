"""Hybrid recall: full-text and vector search fused, weighed by time, importance and pins,
then lifted by the conversation around each memory.

Each search contributes by rank (reciprocal-rank fusion), so the scales of BM25 and cosine
never need calibrating against each other. A question that names a time ("last month",
"in May 2023") boosts memories that happened then; one asked in the past tense ("What did
Anna paint?") slightly prefers memories of events, one in the future tense plans.

What answers a question is often said next to what matches it: the answer to a question the
other party asked, the second half of a story. So a memory also earns part of the score of
the best match said within ``NEIGHBOUR_SPAN`` messages of its own message, in the same
conversation. Memories that only repeat where chosen ones came from rank lower, so the
result covers more of what was said; it is cut to a token budget so that it fits the system
prompt.

The full-text search runs in a thread of its own while the question is embedded and searched
by meaning: SQLite and ONNX Runtime both let go of the GIL, so on two cores the two searches
cost about the longer of them, not their sum.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from hearth.memory.dates import parse_time_filter, sentence_tense
from hearth.store import memories as store
from hearth.store.conversations import message_positions
from hearth.store.db import Database
from hearth.store.memories import MemoryRecord, Owner

CANDIDATES = 60  # hits read from each index before fusion
RRF_K = 10
RECENCY_HALF_LIFE_DAYS = 180.0
IMPORTANCE_WEIGHT = 0.2
NEIGHBOUR_SPAN = 2  # messages either side that belong to the same exchange
NEIGHBOUR_WEIGHT = 0.4  # share of the best neighbour's score a memory earns
REPEAT_FACTOR = 0.6  # score kept by a memory whose messages all back memories chosen
# The kind of memory that answers a question in each tense, and how much it is preferred.
# LoCoMo dev (hearth bench memory): recall@10 0.789 to 0.794 (by conversation: 0.762 to
# 0.762, 0.793 to 0.796, 0.815 to 0.824), within 1,000 tokens unchanged. At 0.2: 0.796, but
# 0.898 within the budget.
KIND_FOR_TENSE = {"past": "event", "future": "plan"}
TENSE_KIND_BOOST = 0.1
# How much of the owner's mean memory vector a question's vector gives up (``_search_vector``).
# LoCoMo dev (hearth bench memory): recall@10 0.798 to 0.810, open-domain 0.474 to 0.579,
# within 1,000 tokens 0.903 to 0.901. Over a fixed ingest, by conversation 0.773 to 0.798,
# 0.793 to 0.805 and 0.823 unchanged; 0.2 to 0.35 all gain (0.801 to 0.810); the mean of all
# owners' vectors instead of the owner's does not (0.798).
SHARED_MEANING_WEIGHT = 0.3

Spot = tuple[str, int]  # (conversation id, message position)

# Shared by every recall in the process; a recall waits for its own search only.
_FULLTEXT_SEARCHES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hearth-fulltext")


@dataclass(frozen=True)
class RecalledMemory:
    memory: MemoryRecord
    score: float


def approx_tokens(text: str) -> int:
    """Tokens a text costs in a prompt, estimated as one per four characters."""
    return max(1, math.ceil(len(text) / 4))


def day_heading(memory: MemoryRecord) -> str:
    """The line a memory's day is written on in the prompt: ``7 May 2023:``."""
    when = memory.observed_at
    return f"{when.day} {when:%b %Y}:"


def render_memories(memories: Sequence[MemoryRecord]) -> str:
    """Memories as the prompt shows them: under the day each happened, oldest day first, a
    line per memory. A day is written once for all its memories, not once per memory, and
    there is no bullet or bracket: each token spent on layout is one less for what is
    remembered (a date costs about four)."""
    days: dict[str, list[str]] = {}
    for memory in sorted(memories, key=lambda m: m.observed_at):
        days.setdefault(day_heading(memory), []).append(memory.text)
    return "\n".join("\n".join([day, *texts]) for day, texts in days.items())


def _fuse(*rankings: list[tuple[int, float]]) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (memory_id, _) in enumerate(ranking):
            fused[memory_id] = fused.get(memory_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return fused


def _prior(memory: MemoryRecord, now: datetime, window: tuple[datetime, datetime] | None,
           wanted_kind: str | None = None) -> float:
    """Multiplier from what the memory is, not what it says: time, importance, pin, and
    whether it is the kind the question's tense asks for (``KIND_FOR_TENSE``)."""
    age_days = max(0.0, (now - memory.observed_at).total_seconds() / 86400)
    recency = 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
    weight = (1.0 + 0.05 * recency + IMPORTANCE_WEIGHT * memory.importance
              + (0.3 if memory.pinned else 0.0))
    if memory.kind == wanted_kind:
        weight *= 1.0 + TENSE_KIND_BOOST
    if window is not None:
        start, end = window
        weight *= 1.6 if start <= memory.observed_at < end else 0.7
    return weight


def _spots(db: Database, owner: Owner, records: list[MemoryRecord]) -> dict[int, set[Spot]]:
    """The messages each memory was drawn from, as places in their conversations."""
    message_ids = sorted({s.message_id for r in records for s in r.sources
                          if s.message_id is not None})
    where = message_positions(db, message_ids, org_id=owner.org_id, user_id=owner.user_id)
    return {r.id: {where[s.message_id] for s in r.sources if s.message_id in where}
            for r in records}


def _lift_by_neighbours(scores: dict[int, float],
                        spots: dict[int, set[Spot]]) -> dict[int, float]:
    """Each score plus ``NEIGHBOUR_WEIGHT`` × the best score said within ``NEIGHBOUR_SPAN``
    messages of it (not from its own messages)."""
    best_at: dict[Spot, float] = {}
    for memory_id, places in spots.items():
        for place in places:
            best_at[place] = max(best_at.get(place, 0.0), scores[memory_id])
    lifted = {}
    for memory_id, score in scores.items():
        places = spots.get(memory_id, set())
        near = [best_at.get((conversation, position + step), 0.0)
                for conversation, position in places
                for step in range(-NEIGHBOUR_SPAN, NEIGHBOUR_SPAN + 1)
                if step and (conversation, position + step) not in places]
        lifted[memory_id] = score + NEIGHBOUR_WEIGHT * max(near, default=0.0)
    return lifted


def _search_vector(db: Database, owner: Owner, question: np.ndarray) -> np.ndarray:
    """The question's vector less ``SHARED_MEANING_WEIGHT`` of the direction the owner's memories
    share.

    Every memory of a person shares their name and their usual topics, so a question that
    names them is close to every short memory that says little besides: "They're Melanie's
    biggest motivation." outranked "Melanie just signed up for a pottery class." for "What
    activities does Melanie partake in?". A dot product with the shifted vector is the cosine
    to the question minus a share of the cosine to the owner's mean, so what a memory has only
    in common with all the others counts for less (the hubness correction of cross-lingual
    retrieval, CSLS, with the mean as every memory's neighbourhood).
    """
    mean = store.mean_vector(db, owner)
    if mean is None or not np.any(mean):
        return question
    return question - SHARED_MEANING_WEIGHT * mean / np.linalg.norm(mean)


def recall(db: Database, owner: Owner, question: str, embed: Callable[[str], np.ndarray], *,
           now: datetime | None = None, limit: int = 10,
           token_budget: int | None = None) -> list[RecalledMemory]:
    """The owner's current memories that best answer ``question``, best first; ``embed``
    gives the question's vector."""
    now = now or datetime.now(UTC)
    window = parse_time_filter(question, now)
    tense = sentence_tense(question)
    wanted_kind = KIND_FOR_TENSE.get(tense) if tense else None
    by_words = _FULLTEXT_SEARCHES.submit(store.fulltext_search, db, owner, question,
                                         limit=CANDIDATES)
    by_meaning = store.vector_search(db, owner, _search_vector(db, owner, embed(question)),
                                     limit=CANDIDATES)
    fused = _fuse(by_words.result(), by_meaning)
    records = [r for r in store.get_many(db, owner, list(fused)) if r.current]
    own = {r.id: fused[r.id] * _prior(r, now, window, wanted_kind) for r in records}
    lifted = _lift_by_neighbours(own, _spots(db, owner, records))
    scored = sorted((RecalledMemory(r, lifted[r.id]) for r in records),
                    key=lambda hit: hit.score, reverse=True)
    return _choose(scored, limit, token_budget)


def _messages(memory: MemoryRecord) -> frozenset[int]:
    return frozenset(s.message_id for s in memory.sources if s.message_id is not None)


def _choose(scored: list[RecalledMemory], limit: int,
            token_budget: int | None) -> list[RecalledMemory]:
    """The best of ``scored`` that fit, where a memory drawn only from messages that back
    memories already chosen keeps ``REPEAT_FACTOR`` of its score.

    One message often yields several memories (a sentence each); without this they crowd out
    what else was said, and a handful of places fill the prompt. A repeat is not dropped:
    it ranks where its lowered score puts it (LoCoMo dev: recall@10 0.783 to 0.787, within
    1,000 tokens 0.899 to 0.903). Scores only ever go down, so taking the higher of the
    next memory in order and the best repeat set aside gives the greedy choice.
    """
    chosen: list[RecalledMemory] = []
    cited: set[int] = set()
    repeats: list[tuple[float, int, RecalledMemory]] = []  # (-lowered score, order, hit)
    ahead = iter(enumerate(scored))
    upcoming = next(ahead, None)
    days: set[str] = set()
    spent = 0
    while len(chosen) < limit and (upcoming is not None or repeats):
        if upcoming is not None and (not repeats or upcoming[1].score >= -repeats[0][0]):
            order, hit = upcoming
            upcoming = next(ahead, None)
            messages = _messages(hit.memory)
            if messages and messages <= cited:
                lowered = hit.score * REPEAT_FACTOR
                heapq.heappush(repeats, (-lowered, order, RecalledMemory(hit.memory, lowered)))
                continue
        else:  # a repeat: its messages are all cited already
            hit, messages = heapq.heappop(repeats)[2], frozenset()
        # What the memory adds to ``render_memories``: its line, and its day's if new.
        day = day_heading(hit.memory)
        cost = approx_tokens(hit.memory.text + "\n") + (
            approx_tokens(day + "\n") if day not in days else 0)
        if token_budget is not None and spent + cost > token_budget:
            continue
        spent += cost
        days.add(day)
        cited |= messages
        chosen.append(hit)
    return chosen
