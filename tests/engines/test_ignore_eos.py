"""``ignore_eos`` runs a request to max_tokens through the model's own end: the lever the
adapter decode benchmark pulls so that a tuned model which answers in three tokens is timed
over as many tokens as its base."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from hearth.config import Settings
from hearth.engines.base import ChatRequest, Delta
from hearth.engines.llamacpp import LlamaCppEngine
from live_server import default_model_path

ASK = [{"role": "user", "content": "Reply with the single word yes."}]
BUDGET = 24


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    path = default_model_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `hearth models pull` (make test does)")
    engine = LlamaCppEngine.from_settings(Settings(model=str(path), parallel=1, threads=2))
    yield engine
    asyncio.run(engine.close())


def last_delta(engine: LlamaCppEngine, **options: bool) -> Delta:
    async def run() -> Delta:
        request = ChatRequest(messages=ASK, max_tokens=BUDGET, temperature=0, **options)
        return [delta async for delta in engine.chat(request)][-1]
    return asyncio.run(run())


def test_the_model_stops_on_its_own_end_by_default(engine: LlamaCppEngine) -> None:
    last = last_delta(engine)
    assert last.finish_reason == "stop"
    assert last.completion_tokens < BUDGET // 2


def test_ignore_eos_generates_the_whole_budget(engine: LlamaCppEngine) -> None:
    last = last_delta(engine, ignore_eos=True)
    assert last.finish_reason == "length"
    assert last.completion_tokens == BUDGET
