"""``hearth bench memory --answers``: does the assistant answer correctly from what it remembers?

Recall of evidence turns (``hearth.bench.memory``) is a proxy; what a user feels is the answer.
Each sampled LoCoMo question (categories 1-4) is answered by the chat model three ways, with the
same model, question set and generation settings:

- **memory**: the conversation went through production's write path (as in the recall
  benchmark), and the assistant builds its prompt as for a user's turn
  (``Assistant.with_memories``: its standing rules, the user's profile, and what recall finds
  for the question, asked at the conversation's last session), with recall given the recall
  benchmark's 1,000-token budget rather than a turn's smaller default;
- **no memory**: the question alone;
- **full context**: the conversation's most recent turns, as many as fit the model's context
  (or ``context_tokens``) with room left for the question and the answer, under the date of
  each session: what a long-context model would be given instead of memories.

The user message is the question and one line asking for a short answer, the same for all
three. Answers are greedy (temperature 0) and scored with LoCoMo's token F1 and exact match
(``hearth.bench.answer_scoring``). Also reported per system: prompt tokens per answer (the
model's own count) and seconds per answer; questions are taken conversation by conversation,
so the full-context prompts of one conversation share their prefix, and after the first the
engine's prefix cache saves most of the reading (cached tokens are reported too).

Each conversation is one user, ``Owner("bench", <name>)``, as in the recall benchmark; the
prompt therefore names the user by the conversation's name, and LoCoMo's questions ask about
the two speakers by name.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearth.assistant.turn import Assistant
from hearth.bench.answer_scoring import score
from hearth.bench.engine import percentile
from hearth.bench.locomo import CATEGORIES, Conversation, Question, Turn
from hearth.bench.machine import machine_info
from hearth.bench.memory_scoring import (BUDGET_POOL, BUDGET_TOKENS, PACKAGES, Log, by_category,
                                         goal, mean)
from hearth.bench.memory_systems import ORG, ServiceSystem, hearth_system
from hearth.engines.base import ChatRequest, Engine

ANSWER_MODEL = "qwen2.5-coder-1.5b-instruct"
SYSTEMS = ("memory", "no memory", "full context")
INSTRUCTION = "Answer with a short phrase only."
MAX_ANSWER_TOKENS = 32
SEED = 22
# Tokens kept free in a full-context prompt: the chat template's markup, the question, the
# answer.
FULL_CONTEXT_RESERVE = 160
GOAL_F1_OVER_NO_MEMORY = 1.5
GOAL_TOKEN_SHARE_OF_FULL = 0.1

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class Asked:
    """A sampled question and the conversation it is about."""

    conversation: Conversation
    question: Question


@dataclass(frozen=True)
class AnswerResult:
    conversation: str
    question: str
    category: int
    gold: str
    answer: str
    f1: float
    exact: bool
    prompt_tokens: int
    cached_tokens: int
    seconds: float


@dataclass
class AnswerRun:
    name: str
    results: list[AnswerResult] = field(default_factory=list)
    error: str | None = None


def sample_questions(conversations: Sequence[Conversation], size: int | None,
                     seed: int = SEED) -> list[Asked]:
    """``size`` questions of categories 1-4 with a gold answer, drawn with ``seed`` (all of
    them when ``size`` is None or larger), in the order of the dataset."""
    pool = [Asked(c, q) for c in conversations for q in c.questions
            if q.category in CATEGORIES and q.answer]
    if size is None or size >= len(pool):
        return pool
    chosen = set(random.Random(seed).sample(range(len(pool)), size))
    return [asked for i, asked in enumerate(pool) if i in chosen]


def question_message(question: Question) -> dict[str, str]:
    return {"role": "user", "content": f"{question.text}\n{INSTRUCTION}"}


def _session_line(turn: Turn) -> str:
    return f"Session of {turn.said_at.day} {turn.said_at:%B %Y, %H:%M}:"


def transcript(turns: Sequence[Turn], budget: int, count: Callable[[str], int]) -> str:
    """The most recent ``turns`` whose lines (``Speaker: text``, under a line per session)
    fit in ``budget`` tokens, oldest first."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        cost = count(f"{turn.speaker}: {turn.text}\n")
        if not kept or kept[-1].session != turn.session:
            cost += count(_session_line(turn) + "\n")
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    lines: list[str] = []
    for i, turn in enumerate(kept):
        if i == 0 or turn.session != kept[i - 1].session:
            lines.append(_session_line(turn))
        lines.append(f"{turn.speaker}: {turn.text}")
    return "\n".join(lines)


def full_context_messages(conversation: Conversation, question: Question, budget: int,
                          count: Callable[[str], int]) -> Messages:
    a, b = conversation.speakers
    intro = f"The conversation between {a} and {b} so far, under the date of each session:\n"
    body = transcript(conversation.turns, budget - count(intro), count)
    return [{"role": "system", "content": intro + body}, question_message(question)]


async def _answer(engine: Engine, messages: Messages, seed: int) -> tuple[str, int, int, float]:
    """The model's answer, its prompt and cached tokens, and the seconds it took."""
    request = ChatRequest(messages=messages, max_tokens=MAX_ANSWER_TOKENS, temperature=0.0,
                          seed=seed, cache_scope=ORG)
    start = time.perf_counter()
    pieces: list[str] = []
    prompt_tokens = cached = 0
    async for delta in engine.chat(request):
        pieces.append(delta.content)
        if delta.finish_reason is not None:
            prompt_tokens, cached = delta.prompt_tokens, delta.cached_tokens
    return "".join(pieces).strip(), prompt_tokens, cached, time.perf_counter() - start


MemoryFactory = Callable[[Path], AbstractContextManager[ServiceSystem]]


def run_answers(conversations: Sequence[Conversation], folder: Path, engine: Engine, *,
                sample: int | None, seed: int = SEED, context_tokens: int | None = None,
                memory: MemoryFactory = hearth_system,
                log: Log = lambda _: None) -> dict[str, Any]:
    """Answer the sampled questions three ways with ``engine``; returns the JSON report.

    ``memory`` gives production's memory service on a fresh database in a folder (the
    recall benchmark's ``hearth_system``); ``context_tokens`` caps the full-context prompt
    (default: the engine's context length)."""
    started = time.perf_counter()
    asked = sample_questions(conversations, sample, seed)
    limits = [n for n in (context_tokens, engine.context_length) if n]
    window = min(limits, default=0)
    if window <= FULL_CONTEXT_RESERVE:
        raise ValueError(f"a full-context window of {window} tokens leaves no room for the "
                         "conversation: give --context, or an engine that knows its context")
    budget = window - FULL_CONTEXT_RESERVE
    needed = [c for c in conversations if any(a.conversation is c for a in asked)]
    runs = {name: AnswerRun(name) for name in SYSTEMS}
    ingest_s = 0.0
    with tempfile.TemporaryDirectory(prefix="hearth-bench-answers-") as tmp, \
            memory(Path(tmp)) as system:
        for conversation in needed:
            start = time.perf_counter()
            system.ingest(conversation)
            ingest_s += time.perf_counter() - start
            log(f"memory: {conversation.name}: {len(conversation.turns)} turns remembered")
        assistant = Assistant(engine, system.service.db, memory=system.service)

        def with_memory(item: Asked) -> Messages:
            request = ChatRequest(messages=[question_message(item.question)])
            prompted, _ = assistant.with_memories(
                request, system.owner(item.conversation), item.question.text,
                now=item.conversation.last_time, limit=BUDGET_POOL, token_budget=BUDGET_TOKENS)
            return prompted.messages

        builders: dict[str, Callable[[Asked], Messages]] = {
            "memory": with_memory,
            "no memory": lambda item: [question_message(item.question)],
            "full context": lambda item: full_context_messages(
                item.conversation, item.question, budget, engine.count_tokens),
        }
        asyncio.run(_answer_all(engine, asked, builders, runs, seed, log))
    wall = time.perf_counter() - started
    summaries = {name: summarise(run) for name, run in runs.items()}
    return {
        "benchmark": "memory-answers",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info((*PACKAGES, "llama-cpp-python")),
        "model": {"id": engine.model_id, "context_length": engine.context_length},
        "dataset": {"path": str(folder), "conversations": [c.name for c in needed],
                    "questions": len(asked), "sample": sample, "seed": seed,
                    # What a prompt of the whole conversation would take, whether or not the
                    # full-context window holds it.
                    "whole_conversation_tokens": {
                        c.name: engine.count_tokens(transcript(c.turns, 10**9,
                                                               engine.count_tokens))
                        for c in needed},
                    "categories": {str(k): v for k, v in CATEGORIES.items()},
                    "category_5": "not scored (adversarial)"},
        "settings": {"instruction": INSTRUCTION, "max_tokens": MAX_ANSWER_TOKENS,
                     "temperature": 0.0, "memory_token_budget": BUDGET_TOKENS,
                     "memory_limit": BUDGET_POOL, "full_context_tokens": budget,
                     "now": "the conversation's last session time",
                     "scoring": "LoCoMo token F1 (Porter stems) and exact match"},
        "memory_ingest_s": ingest_s,
        "wall_s": wall,
        "systems": summaries,
        "goals": answer_goals(summaries),
        "per_question": {name: [vars(r) for r in run.results] for name, run in runs.items()},
    }


async def _answer_all(engine: Engine, asked: Sequence[Asked],
                      builders: dict[str, Callable[[Asked], Messages]],
                      runs: dict[str, AnswerRun], seed: int, log: Log) -> None:
    """Every question, one system after the other (so a system's prompts stay in the cache
    for its next question). A system that fails is recorded with its error."""
    for name, build in builders.items():
        run = runs[name]
        try:
            for item in asked:
                messages = build(item)
                answer, tokens, cached, seconds = await _answer(engine, messages, seed)
                gold = item.question.answer or ""
                f1, exact = score(item.question.category, answer, gold)
                run.results.append(AnswerResult(
                    conversation=item.conversation.name, question=item.question.text,
                    category=item.question.category, gold=gold, answer=answer, f1=f1,
                    exact=exact, prompt_tokens=tokens, cached_tokens=cached, seconds=seconds))
                log(f"{name}: {len(run.results)}/{len(asked)} F1 {f1:.2f} {tokens} tokens "
                    f"{seconds:.1f} s: {answer[:60]!r}")
        except Exception as error:  # recorded, so one broken system does not hide others
            run.error = f"{type(error).__name__}: {error}"
            log(f"{name} failed: {run.error}")


def summarise(run: AnswerRun) -> dict[str, Any]:
    results = run.results
    seconds = [r.seconds for r in results]
    tokens = [r.prompt_tokens for r in results]
    return {
        "error": run.error,
        "questions": len(results),
        "f1": by_category(results, lambda r: r.f1),
        "exact_match": by_category(results, lambda r: float(r.exact)),
        "prompt_tokens": {"mean": mean(tokens),
                          "median": statistics.median(tokens) if tokens else None,
                          "cached_mean": mean([r.cached_tokens for r in results])},
        "seconds_per_answer": {"mean": mean(seconds), "p50": percentile(seconds, 50),
                               "p95": percentile(seconds, 95)},
    }


def answer_goals(systems: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's answer goals, each a ratio of two systems measured in this run."""
    def f1(name: str) -> float | None:
        system = systems.get(name)
        return None if system is None or system["error"] else system["f1"]["overall"]

    def tokens(name: str) -> float | None:
        system = systems.get(name)
        return None if system is None or system["error"] else system["prompt_tokens"]["mean"]

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    return [
        goal("F1 with memory / F1 with no memory", f">= {GOAL_F1_OVER_NO_MEMORY}",
             ratio(f1("memory"), f1("no memory")), lambda v: v >= GOAL_F1_OVER_NO_MEMORY),
        goal("F1 with memory / F1 with full context", ">= 1",
             ratio(f1("memory"), f1("full context")), lambda v: v >= 1),
        goal("prompt tokens with memory / with full context", f"<= {GOAL_TOKEN_SHARE_OF_FULL}",
             ratio(tokens("memory"), tokens("full context")),
             lambda v: v <= GOAL_TOKEN_SHARE_OF_FULL),
    ]
