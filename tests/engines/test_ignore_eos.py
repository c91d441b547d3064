"""``ignore_eos`` runs a request to max_tokens through the model's own end: the lever the
adapter decode benchmark pulls so that a tuned model which answers in three tokens is timed
over as many tokens as its base."""

from __future__ import annotations

import asyncio

from hearth.engines.base import ChatRequest, Delta
from hearth.engines.llamacpp import LlamaCppEngine

ASK = [{"role": "user", "content": "Reply with the single word yes."}]
BUDGET = 24


def last_delta(engine: LlamaCppEngine, **options: bool) -> Delta:
    async def run() -> Delta:
        request = ChatRequest(messages=ASK, max_tokens=BUDGET, temperature=0, **options)
        return [delta async for delta in engine.chat(request)][-1]
    return asyncio.run(run())


def test_the_model_stops_on_its_own_end_by_default(default_engine: LlamaCppEngine) -> None:
    last = last_delta(default_engine)
    assert last.finish_reason == "stop"
    assert last.completion_tokens < BUDGET // 2


def test_ignore_eos_generates_the_whole_budget(default_engine: LlamaCppEngine) -> None:
    last = last_delta(default_engine, ignore_eos=True)
    assert last.finish_reason == "length"
    assert last.completion_tokens == BUDGET
