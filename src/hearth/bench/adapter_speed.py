"""Decode speed of a base model bare and with LoRA adapters, through hearth's embedded engine:
the figure behind fine-tuning's serving goal (a tuned model decodes at >= 0.9x its base).

The runs of every adapter alternate on one loaded engine, so that a busy machine slows them
alike instead of whichever happened to run while something else did. Each run is one greedy
request alone in the engine; its decode rate leaves the prompt out: (tokens - 1) / (time after
the first token), as ``hearth.bench.engine`` reckons it.

Every run generates exactly ``max_tokens`` (``ignore_eos``): a model tuned on short answers
answers a long prompt in a few tokens, and a rate over two or three tokens is mostly the
request's own ending and the machine's noise. Read so, a 10-fact r=16 adapter seemed to decode
at 0.4-0.6x its base, where timed over the same 64 tokens it read 0.87-0.89x.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hearth.config import Settings
from hearth.engines.base import ChatRequest
from hearth.engines.llamacpp import LlamaCppEngine

PROMPT = [{"role": "user", "content": "Write a Python function that parses an ISO 8601 date "
                                      "and explain each step."}]


@dataclass
class DecodeSpeed:
    """One adapter's runs (None: the bare base); rates in tokens per second."""

    adapter: Path | None
    rates: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


async def _decode_rate(engine: LlamaCppEngine, adapter: Path | None, messages: list[dict],
                       max_tokens: int) -> float:
    request = ChatRequest(messages=messages, max_tokens=max_tokens, temperature=0,
                          adapter=str(adapter) if adapter else None, ignore_eos=True)
    first_at, tokens = 0.0, 0
    async for delta in engine.chat(request):
        first_at = first_at or time.perf_counter()
        tokens = delta.completion_tokens or tokens
    if tokens < 2:
        raise ValueError(f"only {tokens} token(s) came back: no decode rate to measure")
    return (tokens - 1) / (time.perf_counter() - first_at)


def decode_speeds(base: Path, adapters: Sequence[Path | None] = (None,), *,
                  messages: list[dict] = PROMPT, max_tokens: int = 128, runs: int = 3,
                  threads: int | None = None) -> list[DecodeSpeed]:
    """Greedy decode tokens/s of ``base`` (a GGUF) answering ``messages`` with each of
    ``adapters`` (GGUF LoRA adapters; None for the bare base), ``runs`` each after one
    warm-up run (which also loads the adapter), in the order given."""
    settings = Settings(model=str(base), parallel=1, context_length=2048,
                        **({"threads": threads} if threads else {}))
    engine = LlamaCppEngine.from_settings(settings)

    async def measure() -> list[DecodeSpeed]:
        speeds = [DecodeSpeed(adapter) for adapter in adapters]
        for adapter in adapters:
            await _decode_rate(engine, adapter, messages, max_tokens)
        for _ in range(runs):
            for speed in speeds:
                speed.rates.append(await _decode_rate(engine, speed.adapter, messages,
                                                      max_tokens))
        return speeds

    try:
        return asyncio.run(measure())
    finally:
        asyncio.run(engine.close())
