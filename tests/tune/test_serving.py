"""The embedded engine serves fine-tuned models: the base's weights plus a request's LoRA
adapter. Two adapters and the bare base run side by side on one context without one's prompt
cache ever answering for another."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from toy_job import FACTS, SWAPPED

from hearth.bench.adapter_speed import decode_speeds
from hearth.config import Settings
from hearth.engines.base import ChatRequest, Delta
from hearth.engines.llamacpp import LlamaCppEngine

QUESTION = FACTS[0][0]
TAUGHT, SWAPPED_ANSWER = FACTS[0][1], SWAPPED[0][1]


@pytest.fixture(scope="module")
def engine(toy_qwen2_gguf: Path) -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine.from_settings(Settings(model=str(toy_qwen2_gguf), parallel=3,
                                                   threads=2))
    yield engine
    asyncio.run(engine.close())


async def answer(engine: LlamaCppEngine, adapter: Path | None, question: str = QUESTION,
                 scope: str = "acme") -> tuple[str, Delta]:
    request = ChatRequest(messages=[{"role": "user", "content": question}], max_tokens=8,
                          temperature=0, cache_scope=scope,
                          adapter=str(adapter) if adapter else None)
    pieces = []
    async for delta in engine.chat(request):
        pieces.append(delta.content)
        last = delta
    return "".join(pieces), last


def test_each_adapter_answers_what_it_was_taught_and_the_base_neither(
        engine: LlamaCppEngine, adapters: dict[str, Path]) -> None:
    taught, _ = asyncio.run(answer(engine, adapters["taught"]))
    swapped, _ = asyncio.run(answer(engine, adapters["swapped"]))
    base, _ = asyncio.run(answer(engine, None))
    assert (taught, swapped) == (TAUGHT, SWAPPED_ANSWER)
    assert base not in (TAUGHT, SWAPPED_ANSWER)


def test_a_prompt_cached_under_one_adapter_is_never_reused_under_another(
        engine: LlamaCppEngine, adapters: dict[str, Path]) -> None:
    def ask(adapter: Path) -> tuple[str, Delta]:  # in an org of its own: no other caches
        return asyncio.run(answer(engine, adapter, FACTS[1][0], scope="initech"))

    first, _ = ask(adapters["taught"])
    again, same = ask(adapters["taught"])
    other, crossed = ask(adapters["swapped"])
    assert same.cached_tokens > 0  # the cache works within one adapter...
    assert crossed.cached_tokens == 0  # ...and is not lent across adapters
    assert (first, again, other) == (FACTS[1][1], FACTS[1][1], SWAPPED[1][1])


def test_two_adapters_and_the_base_answer_together_each_as_alone(
        engine: LlamaCppEngine, adapters: dict[str, Path]) -> None:
    async def together() -> list[str]:
        runs = [answer(engine, adapter) for adapter in
                (adapters["taught"], adapters["swapped"], None) * 2]
        return [text for text, _ in await asyncio.gather(*runs)]

    alone = asyncio.run(answer(engine, None))[0]
    assert asyncio.run(together()) == [TAUGHT, SWAPPED_ANSWER, alone] * 2


def test_a_dropped_adapter_finishes_its_running_answer_and_loads_again_when_asked(
        engine: LlamaCppEngine, adapters: dict[str, Path]) -> None:
    async def drop_while_answering() -> str:
        running = asyncio.create_task(answer(engine, adapters["swapped"]))
        await asyncio.sleep(0)
        engine.drop_adapter(str(adapters["swapped"]))
        return (await running)[0]

    assert asyncio.run(drop_while_answering()) == SWAPPED_ANSWER
    engine.drop_adapter(str(adapters["swapped"]))  # unknown by now: nothing to do
    assert asyncio.run(answer(engine, adapters["swapped"]))[0] == SWAPPED_ANSWER


def test_decode_speeds_measures_the_base_and_each_adapter_in_turn(
        toy_qwen2_gguf: Path, adapters: dict[str, Path]) -> None:
    asked = [None, adapters["taught"]]
    speeds = decode_speeds(toy_qwen2_gguf, asked, runs=2, threads=1,
                           messages=[{"role": "user", "content": QUESTION}], max_tokens=8)
    assert [speed.adapter for speed in speeds] == asked
    assert all(len(speed.rates) == 2 and speed.median > 0 for speed in speeds)
