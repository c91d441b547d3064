"""The official `openai` SDK's ``responses`` client against a live `hearth serve` running the
real default model: plain, streamed, a function-tool round trip and ``previous_response_id``
(short max_output_tokens keep them quick on two cores)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from live_server import LiveServer, default_model_path, start_server

pytestmark = pytest.mark.model
MODEL = "qwen2.5-coder-0.5b-instruct"
WEATHER_TOOL = {
    "type": "function", "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    path = default_model_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `hearth models pull {MODEL}` first")
    live: LiveServer = start_server(tmp_path_factory.mktemp("home"),
                                    args=["--model", str(path), "--context-length", "2048"])
    yield openai.OpenAI(base_url=live.base_url, api_key="unused", max_retries=0, timeout=120)
    live.stop()


def test_a_plain_response_answers_the_question(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="What is the capital of France?",
                                       max_output_tokens=16, temperature=0)

    assert "paris" in response.output_text.lower()
    assert response.status in {"completed", "incomplete"}
    assert response.usage.input_tokens > 10 and 0 < response.usage.output_tokens <= 16


def test_a_streamed_response_arrives_in_deltas_that_make_the_final_text(
    client: openai.OpenAI,
) -> None:
    events = list(client.responses.create(model=MODEL, input="Count from 1 to 5.",
                                          max_output_tokens=24, temperature=0, stream=True))

    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert events[0].type == "response.created"
    assert events[-1].type in {"response.completed", "response.incomplete"}
    assert len(deltas) > 3
    assert "".join(deltas) == events[-1].response.output_text
    assert "<|" not in events[-1].response.output_text  # no special tokens reach the client


def test_previous_response_id_carries_the_conversation(client: openai.OpenAI) -> None:
    first = client.responses.create(
        model=MODEL, input="My name is Zanzibar. Reply with just OK.", max_output_tokens=8,
        temperature=0)
    second = client.responses.create(
        model=MODEL, input="What is my name? Reply with the name only.",
        previous_response_id=first.id, max_output_tokens=8, temperature=0)

    assert "zanzibar" in second.output_text.lower()
    assert second.usage.input_tokens > first.usage.input_tokens


def test_a_function_call_round_trip(client: openai.OpenAI) -> None:
    called = client.responses.create(model=MODEL, input="What is the weather in Oslo?",
                                     tools=[WEATHER_TOOL], tool_choice="required",
                                     max_output_tokens=48, temperature=0)
    (call,) = [item for item in called.output if item.type == "function_call"]
    assert call.name == "get_weather" and "city" in json.loads(call.arguments)

    answered = client.responses.create(
        model=MODEL, previous_response_id=called.id, tools=[WEATHER_TOOL],
        input=[{"type": "function_call_output", "call_id": call.call_id,
                "output": json.dumps({"city": "Oslo", "sky": "sunny", "celsius": 21})}],
        max_output_tokens=32, temperature=0)

    assert answered.status in {"completed", "incomplete"}
    text = answered.output_text.lower()
    assert "sunny" in text or "21" in text
