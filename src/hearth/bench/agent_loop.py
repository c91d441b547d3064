"""The agent-loop case of ``hearth bench engine``: what an agent's turns cost.

A coding agent resends its whole history every turn: instructions and tool descriptions of a few
thousand tokens, then every earlier turn, then one short new message. Here: a first prompt of
about 4,000 tokens, then nine more turns, each the previous prompt plus the previous answer and a
short new request, sent one after another as an agent would. Each turn streams, and the time to
its first token is what the user waits for.

Three loops, each on a ``hearth serve`` of its own and from its own first prompt:

- ``chat``: ``/v1/chat/completions`` with the prefix cache (the default);
- ``chat_no_cache``: the same on a server started with ``HEARTH_PREFIX_CACHE=false``;
- ``responses``: ``/v1/responses``, the instructions as ``instructions`` and
  the history as input items, as Codex CLI sends it.

Goals, as ratios within the run: the second turn's time to first token at most 0.2x the first
(with the cache), and ``/v1/responses`` within 5% of Chat Completions' throughput on the same loop
(completion tokens per second over turns 2 to 10). Every answer is asked to run past
``MAX_TOKENS``, so both loops decode the same number of tokens a turn: with answers of a line, a
loop whose model happened to say one token less read as 25% slower while its turns took as long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import openai

from hearth.bench.engine import (
    BenchConfig, BenchError, Goal, Log, free_port, hearth_command, hearth_env,
    measured, openai_client, running_server, served_model_id,
)

TURNS = 10
MAX_TOKENS = 32  # each answer is cut here: a list of twenty modules runs longer
# Each rule is about 36 tokens (Qwen2.5's tokenizer; 160 rules made a 5,800-token prompt):
# 110 of them and the task make a first prompt of about 4,000.
RULES = 110
SECOND_TURN_GOAL = 0.2  # turn 2's time to first token over turn 1's, with the prefix cache
RESPONSES_GOAL = 0.95  # /v1/responses' tokens/s over Chat Completions' on the same loop


def instructions(loop: str) -> str:
    """An agent's standing instructions, about 4,000 tokens: the same for every loop but for the
    loop's name at the start, so each loop does the same work and none finds another's prefix in
    the cache (they share only the chat template's first few tokens)."""
    rules = "\n".join(
        f"{i}. Before you change src/module_{i}.py, read it whole, keep its public names, "
        f"and afterwards run tests/test_module_{i}.py." for i in range(1, RULES + 1))
    return (f"You are the {loop} coding agent. Answer each request with a numbered list of "
            f"twenty modules, one per line.\nRules:\n{rules}")


def request_for(turn: int) -> str:
    return f"Step {turn}: which modules should be checked next? List twenty, one per line."


@dataclass
class Turn:
    """One turn of a loop: its prompt, how much of it came from the cache, and its timings."""

    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    ttft_s: float | None
    latency_s: float


@dataclass
class Loop:
    name: str
    description: str
    turns: list[Turn] = field(default_factory=list)
    wall_s: float = 0.0
    error: str | None = None
    others_cpu_share: float | None = None

    @property
    def tokens_per_s(self) -> float | None:
        """Completion tokens over the time of the turns after the first: the steady state of an
        agent's conversation, which the first turn's long prefill would otherwise drown."""
        later = self.turns[1:]
        busy = sum(t.latency_s for t in later)
        return sum(t.completion_tokens for t in later) / busy if busy > 0 else None

    def ttft(self, turn: int) -> float | None:
        return self.turns[turn - 1].ttft_s if len(self.turns) >= turn else None


async def chat_turn(client: openai.AsyncOpenAI, model: str,
                    messages: list[dict[str, Any]]) -> tuple[str, Turn]:
    start = time.perf_counter()
    ttft, pieces, usage = None, [], None
    stream = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=MAX_TOKENS, temperature=0, stream=True,
        stream_options={"include_usage": True})
    async for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            if choice.delta.content:
                ttft = ttft if ttft is not None else time.perf_counter() - start
                pieces.append(choice.delta.content)
    if usage is None:
        raise BenchError("The chat completions stream ended without usage.")
    details = usage.prompt_tokens_details
    return "".join(pieces), Turn(usage.prompt_tokens, (details.cached_tokens or 0) if details else 0,
                                 usage.completion_tokens, ttft, time.perf_counter() - start)


async def responses_turn(client: openai.AsyncOpenAI, model: str,
                         messages: list[dict[str, Any]]) -> tuple[str, Turn]:
    start = time.perf_counter()
    ttft, pieces, usage = None, [], None
    system, *history = messages
    stream = await client.responses.create(
        model=model, instructions=system["content"], max_output_tokens=MAX_TOKENS,
        temperature=0, stream=True, store=False,
        input=[{"role": m["role"], "content": m["content"]} for m in history])
    async for event in stream:
        if event.type == "response.output_text.delta":
            ttft = ttft if ttft is not None else time.perf_counter() - start
            pieces.append(event.delta)
        elif event.type in ("response.completed", "response.incomplete"):
            usage = event.response.usage
    if usage is None:
        raise BenchError("The responses stream ended without usage.")
    details = usage.input_tokens_details
    return "".join(pieces), Turn(usage.input_tokens, details.cached_tokens if details else 0,
                                 usage.output_tokens, ttft, time.perf_counter() - start)


TurnFunction = Callable[[openai.AsyncOpenAI, str, list[dict[str, Any]]],
                        Any]  # a coroutine of (answer, Turn)


async def run_loop(base_url: str, loop: Loop, one_turn: TurnFunction, log: Log) -> None:
    """The loop's turns one after another, each resending the whole history."""
    async with openai_client(base_url) as client:
        model = await served_model_id(base_url)
        messages: list[dict[str, Any]] = [{"role": "system", "content": instructions(loop.name)}]
        start = time.perf_counter()
        for turn in range(1, TURNS + 1):
            messages.append({"role": "user", "content": request_for(turn)})
            answer, timing = await one_turn(client, model, messages)
            messages.append({"role": "assistant", "content": answer})
            loop.turns.append(timing)
            log(f"  turn {turn}: {timing.prompt_tokens} prompt tokens "
                f"({timing.cached_tokens} cached), first token after "
                f"{timing.ttft_s if timing.ttft_s is not None else float('nan'):.2f} s")
        loop.wall_s = time.perf_counter() - start


def _on_server(config: BenchConfig, env: dict[str, str],
               loops: list[tuple[Loop, TurnFunction]], log: Log) -> None:
    """Run ``loops`` one after another on one ``hearth serve``; each records its own error."""
    port = free_port()
    try:
        with running_server(hearth_command(config, port), port, "/healthz",
                            env=hearth_env(**env)) as base_url:
            for loop, one_turn in loops:
                def run(loop: Loop = loop, one_turn: TurnFunction = one_turn) -> Loop:
                    try:
                        asyncio.run(run_loop(base_url, loop, one_turn, log))
                    except (openai.OpenAIError, BenchError) as exc:
                        loop.error = str(exc)
                    return loop
                measured(f"{loop.name}: {loop.description}", run, log)
    except BenchError as exc:
        for loop, _ in loops:
            loop.error = loop.error or exc.message


def run_agent_loops(config: BenchConfig, log: Log = lambda _: None) -> dict[str, Any]:
    """Measure the three loops and return their turns, ratios and goals."""
    chat = Loop("chat", "/v1/chat/completions, prefix cache on")
    responses = Loop("responses", "/v1/responses, prefix cache on")
    no_cache = Loop("chat_no_cache", "/v1/chat/completions, HEARTH_PREFIX_CACHE=false")
    # Each loop on a server of its own: the engine keeps a loop's cache after it ends, and in
    # its unified KV cache every sequence's attention spans all cells in use, so a loop run
    # after another decodes about a third slower (measured: 16.8 against 12.8 tokens/s).
    _on_server(config, {}, [(chat, chat_turn)], log)
    _on_server(config, {}, [(responses, responses_turn)], log)
    _on_server(config, {"HEARTH_PREFIX_CACHE": "false"}, [(no_cache, chat_turn)], log)
    ratios, goals = agent_loop_goals(chat, responses, no_cache)
    return {"turns": TURNS, "max_tokens": MAX_TOKENS,
            "loops": {loop.name: {**asdict(loop), "tokens_per_s": loop.tokens_per_s}
                      for loop in (chat, responses, no_cache)},
            "ratios": ratios, "goals": [asdict(goal) for goal in goals]}


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def agent_loop_goals(chat: Loop, responses: Loop,
                     no_cache: Loop) -> tuple[dict[str, float | None], list[Goal]]:
    ratios = {
        "second_vs_first_turn_ttft": _ratio(chat.ttft(2), chat.ttft(1)),
        "second_vs_first_turn_ttft_no_cache": _ratio(no_cache.ttft(2), no_cache.ttft(1)),
        "responses_vs_chat_tps": _ratio(responses.tokens_per_s, chat.tokens_per_s),
        "cache_vs_no_cache_wall": _ratio(chat.wall_s or None, no_cache.wall_s or None),
    }

    def goal(name: str, key: str, target: str, test: Callable[[float], bool]) -> Goal:
        value = ratios[key]
        return Goal(name, key, target, value, None if value is None else test(value))

    return ratios, [
        goal(f"agent loop: turn 2 TTFT <= {SECOND_TURN_GOAL}x turn 1",
             "second_vs_first_turn_ttft", f"<= {SECOND_TURN_GOAL}",
             lambda r: r <= SECOND_TURN_GOAL),
        goal(f"agent loop: /v1/responses tok/s >= {RESPONSES_GOAL}x chat",
             "responses_vs_chat_tps", f">= {RESPONSES_GOAL}", lambda r: r >= RESPONSES_GOAL),
    ]
