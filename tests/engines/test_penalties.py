"""OpenAI's frequency and presence penalties reach llama.cpp's sampler: asked to repeat a word,
the real model repeats it far less when repeating costs. (A presence penalty is paid once per
token, so it hardly moves a word the model is sure of; it is checked only to arrive.)"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from hearth.api.chat.protocol import ChatCompletionRequest
from hearth.api.chat.serving import to_engine_request
from hearth.engines.base import ChatRequest
from hearth.engines.llamacpp import LlamaCppEngine

ASK = [{"role": "user", "content": "Write the word apple 30 times, separated by spaces, "
                                   "and nothing else."}]


def apples(engine: LlamaCppEngine, **penalties: float) -> int:
    async def run() -> str:
        request = ChatRequest(messages=ASK, max_tokens=40, temperature=0, **penalties)
        return "".join([delta.content async for delta in engine.chat(request)])
    return asyncio.run(run()).lower().count("apple")


def test_a_frequency_penalty_stops_the_model_repeating_itself(
        default_engine: LlamaCppEngine) -> None:
    plain = apples(default_engine)
    assert plain >= 15  # the greedy answer does as asked
    assert apples(default_engine, frequency_penalty=2.0) <= plain // 2


def test_the_api_passes_both_penalties_and_refuses_them_out_of_openais_range() -> None:
    body = {"model": "m", "messages": ASK}
    request = to_engine_request(ChatCompletionRequest.model_validate(
        {**body, "frequency_penalty": 0.5, "presence_penalty": -1.5}))
    assert (request.frequency_penalty, request.presence_penalty) == (0.5, -1.5)
    for field in ("frequency_penalty", "presence_penalty"):
        with pytest.raises(ValidationError):
            ChatCompletionRequest.model_validate({**body, field: 2.5})
