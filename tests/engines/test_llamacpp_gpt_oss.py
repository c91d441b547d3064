"""A gpt-oss GGUF on the embedded llama.cpp engine, harmony on both sides.

The model is the toy of toy_gpt_oss.py: real architecture, metadata and vocabulary, random
weights. Its words are junk, so these tests check structure: the file loads, the prompt is
harmony's rendering, and every answer, streamed or whole, ends with a finish reason and never
shows a special token, through the engine and through `hearth serve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import llama_cpp
import pytest
from openai_harmony import HarmonyEncoding

from hearth.engines.base import ChatRequest, Delta
from hearth.engines.batch_decoder import Event, Sequence
from hearth.engines.harmony import render_prompt
from hearth.engines.llamacpp import LlamaCppEngine
from hearth.errors import InvalidRequest
from live_server import LiveServer, start_server

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}
QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]
HARMONY_MARKS = ("<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|call|>",
                 "<|return|>", "<|constrain|>")


@pytest.fixture(scope="module")
def engine(toy_gpt_oss_gguf: Path, harmony_models_dir: Path) -> Iterator[LlamaCppEngine]:
    loaded = LlamaCppEngine(toy_gpt_oss_gguf, "gpt-oss-toy", models_dir=harmony_models_dir,
                            context_length=1024, threads=2, parallel=2, max_queue=4,
                            kv_budget_bytes=64 * 2**20)
    yield loaded
    asyncio.run(loaded.close())


def answer(engine: LlamaCppEngine, request: ChatRequest) -> list[Delta]:
    async def collect() -> list[Delta]:
        return [delta async for delta in engine.chat(request)]
    return asyncio.run(collect())


def assert_well_formed(pieces: list[Delta], max_tokens: int) -> None:
    *body, last = pieces
    assert all(p.finish_reason is None for p in body)
    assert last.finish_reason in {"stop", "length", "tool_calls"}
    assert 0 <= last.completion_tokens <= max_tokens
    text = "".join(p.content + p.reasoning for p in pieces)
    assert not any(mark in text for mark in HARMONY_MARKS)


def test_the_toy_file_is_gpt_oss_with_the_o200k_harmony_vocabulary(
        toy_gpt_oss_gguf: Path, engine: LlamaCppEngine, encoding: HarmonyEncoding) -> None:
    assert toy_gpt_oss_gguf.stat().st_size < 80_000_000
    text = "Harmony's tokens: naïve café, 1234567, <tags> and\nnew lines."
    assert engine.count_tokens(text) == len(encoding.encode(text))


def test_prompt_is_harmonys_rendering(engine: LlamaCppEngine,
                                      encoding: HarmonyEncoding) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=4, temperature=0,
                          reasoning_effort="low", tools=[WEATHER_TOOL])
    last = answer(engine, request)[-1]
    assert last.prompt_tokens == len(render_prompt(encoding, request))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_output_always_ends_well_formed(engine: LlamaCppEngine, seed: int) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=48, temperature=1.0, seed=seed,
                          tools=[WEATHER_TOOL])
    assert_well_formed(answer(engine, request), 48)


@pytest.fixture
def scripted(engine: LlamaCppEngine, encoding: HarmonyEncoding,
             monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The decoder replaced by one that "generates" the harmony text put in the returned list:
    random weights never write well-formed harmony, so this is how the engine's own handling
    of a real completion is checked. A stop token ends it, as in the decoder."""
    script: list[str] = []

    def submit(seq: Sequence) -> None:
        llama_cpp.llama_sampler_free(seq.sampler)
        count = 0
        for token in encoding.encode(script.pop(), allowed_special="all"):
            if token in seq.stop_tokens:
                break
            count += 1
            seq.emit(Event(count, token, encoding.decode([token])))
            if count == seq.max_tokens:
                seq.emit(Event(count, finish="length"))
                return
        seq.emit(Event(count, finish="stop"))

    monkeypatch.setattr(engine._decoder, "submit", submit)
    return script


def test_engine_streams_reasoning_then_answer(engine: LlamaCppEngine,
                                              scripted: list[str]) -> None:
    scripted.append("<|channel|>analysis<|message|>A greeting.<|end|><|start|>assistant"
                    "<|channel|>final<|message|>Hello there!<|return|>")
    pieces = answer(engine, ChatRequest(messages=QUESTION))
    assert "".join(p.reasoning for p in pieces) == "A greeting."
    assert "".join(p.content for p in pieces) == "Hello there!"
    assert pieces[-1].finish_reason == "stop"
    assert_well_formed(pieces, 100)


def test_engine_returns_a_tool_call(engine: LlamaCppEngine, scripted: list[str]) -> None:
    scripted.append("<|channel|>commentary to=functions.get_weather <|constrain|>json"
                    '<|message|>{"location": "Paris"}<|call|>')
    last = answer(engine, ChatRequest(messages=QUESTION, tools=[WEATHER_TOOL]))[-1]
    assert last.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in last.tool_calls] == [
        ("get_weather", '{"location": "Paris"}')]


def test_engine_cuts_reasoning_at_max_tokens(engine: LlamaCppEngine,
                                             scripted: list[str]) -> None:
    scripted.append("<|channel|>analysis<|message|>Let me think about this for a long while.")
    pieces = answer(engine, ChatRequest(messages=QUESTION, max_tokens=6))
    assert pieces[-1].finish_reason == "length" and pieces[-1].completion_tokens == 6
    assert "".join(p.reasoning for p in pieces) == "Let me think"
    assert "".join(p.content for p in pieces) == ""


def test_stop_sequence_applies_to_the_answer_only(engine: LlamaCppEngine,
                                                  scripted: list[str]) -> None:
    scripted.append("<|channel|>analysis<|message|>Count, then END.<|end|><|start|>assistant"
                    "<|channel|>final<|message|>one two END three<|return|>")
    pieces = answer(engine, ChatRequest(messages=QUESTION, stop=["END"]))
    assert "".join(p.reasoning for p in pieces) == "Count, then END."
    assert "".join(p.content for p in pieces) == "one two "
    assert pieces[-1].finish_reason == "stop"


def test_forced_tool_choice_is_refused(engine: LlamaCppEngine) -> None:
    request = ChatRequest(messages=QUESTION, tools=[WEATHER_TOOL], tool_choice="required")
    with pytest.raises(InvalidRequest, match="tool_choice"):
        answer(engine, request)


@pytest.fixture(scope="module")
def server(toy_gpt_oss_gguf: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("home"),
                        args=["--model", str(toy_gpt_oss_gguf), "--context-length", "1024"])
    yield live
    live.stop()


def test_hearth_serve_answers_from_a_gpt_oss_file(server: LiveServer) -> None:
    body = {"model": "gpt-oss-toy", "messages": QUESTION, "max_tokens": 24, "seed": 5}
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        whole = http.post("/chat/completions", json=body).json()
        with http.stream("POST", "/chat/completions", json={**body, "stream": True}) as reply:
            events = [line for line in reply.iter_lines() if line.startswith("data: ")]
    choice = whole["choices"][0]
    assert choice["finish_reason"] in {"stop", "length", "tool_calls"}
    assert not any(m in (choice["message"]["content"] or "") for m in HARMONY_MARKS)
    assert whole["usage"]["completion_tokens"] <= 24
    assert events[-1] == "data: [DONE]"
    assert not any(mark in "".join(events) for mark in HARMONY_MARKS)
