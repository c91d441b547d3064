"""The official `openai` SDK against a live `hearth serve` running the real default model.

These are the foundation's acceptance tests: a real client, a real server on 127.0.0.1 and a
real open-weight model (short max_tokens keep them quick on two cores).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jsonschema
import openai
import pytest

from live_server import LiveServer, default_model_path, start_server

pytestmark = pytest.mark.model
MODEL = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = default_model_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `hearth models pull {MODEL}` first")
    live = start_server(tmp_path_factory.mktemp("home"),
                        env={"HEARTH_MAX_BODY_BYTES": "200000"},
                        args=["--model", str(path), "--parallel", "2",
                              "--context-length", "2048"])
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == [MODEL]


def test_chat_answers_with_usage_counted_by_the_tokenizer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=16, temperature=0,
    )
    assert "paris" in reply.choices[0].message.content.lower()
    assert reply.choices[0].finish_reason in {"stop", "length"}
    assert reply.usage.prompt_tokens > 10
    assert 0 < reply.usage.completion_tokens <= 16
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_same_seed_gives_same_answer(client: openai.OpenAI) -> None:
    ask = dict(model=MODEL, messages=[{"role": "user", "content": "Name a colour."}],
               max_tokens=8, temperature=1.0, seed=7)
    first = client.chat.completions.create(**ask).choices[0].message.content
    second = client.chat.completions.create(**ask).choices[0].message.content
    assert first == second


def test_streaming_yields_pieces_then_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count from 1 to 5."}],
        max_tokens=24, temperature=0, stream=True, stream_options={"include_usage": True},
    )
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert len([p for p in pieces if p]) > 3
    assert "1" in "".join(pieces)
    assert finish in {"stop", "length"}
    assert usage is not None and usage.completion_tokens > 3


def test_stream_ends_with_done(server: LiveServer) -> None:
    with httpx.stream("POST", f"{server.base_url}/chat/completions", timeout=60, json={
        "model": MODEL, "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 4, "stream": True,
    }) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


def test_stop_sequence_ends_the_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count from 1 to 10, comma separated."}],
        max_tokens=40, temperature=0, stop=["4"],
    )
    assert "4" not in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"


def test_json_schema_output_parses_and_validates(client: openai.OpenAI) -> None:
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
              "required": ["city", "population"]}
    reply = client.chat.completions.create(
        model=MODEL, max_tokens=60, temperature=0,
        messages=[{"role": "user", "content": "Give the largest city of Japan and its population."}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "city", "schema": schema, "strict": True}},
    )
    data = json.loads(reply.choices[0].message.content)
    jsonschema.validate(data, schema)


def test_json_object_output_is_json(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, max_tokens=40, temperature=0, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Return a JSON object with a key 'ok'."}],
    )
    assert isinstance(json.loads(reply.choices[0].message.content), dict)


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What is the weather in Paris right now?"}]
    first = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER_TOOL], max_tokens=60, temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21, "sky": "sunny"}'}]
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL],
                                            max_tokens=40, temperature=0)
    assert second.choices[0].message.content
    assert "21" in second.choices[0].message.content or "sunny" in second.choices[0].message.content.lower()


def test_embeddings_are_unit_vectors_closer_for_similar_text(client: openai.OpenAI) -> None:
    out = client.embeddings.create(model=MODEL, input=["I love cats", "I adore kittens",
                                                       "Quarterly tax filing deadline"])
    a, b, c = (d.embedding for d in out.data)
    dot = lambda x, y: sum(p * q for p, q in zip(x, y))  # noqa: E731
    assert abs(dot(a, a) - 1) < 1e-3
    assert dot(a, b) > dot(a, c)
    assert out.usage.prompt_tokens > 0


@pytest.mark.parametrize("bad, param", [
    ({"max_tokens": -5}, "max_tokens"),
    ({"temperature": 9}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"n": 3}, "n"),
    ({"max_tokens": 10**9}, "max_tokens"),
    ({"messages": []}, "messages"),
])
def test_absurd_parameters_are_a_400_with_the_parameter_named(client, bad, param) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **bad}
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(**body)
    assert param in err.value.message


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["code"] == "model_not_found"


def test_context_overflow_is_a_clear_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model=MODEL, max_tokens=8,
            messages=[{"role": "user", "content": "word " * 3000}],
        )
    assert err.value.code == "context_length_exceeded"


def test_malformed_json_and_huge_bodies_are_refused_and_server_keeps_serving(
        server: LiveServer, client: openai.OpenAI) -> None:
    url = f"{server.base_url}/chat/completions"
    bad_json = httpx.post(url, content=b'{"model": ', headers={"content-type": "application/json"})
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "invalid_request_error"
    wrong_type = httpx.post(url, json={"model": MODEL, "messages": "hello"})
    assert wrong_type.status_code == 400
    huge = httpx.post(url, json={"model": MODEL,
                                 "messages": [{"role": "user", "content": "x" * 300_000}]})
    assert huge.status_code == 413
    reply = client.chat.completions.create(model=MODEL, max_tokens=2,
                                           messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content is not None


def test_metrics_count_requests_tokens_and_queue(server: LiveServer, client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, max_tokens=2,
                                   messages=[{"role": "user", "content": "hi"}])
    text = httpx.get(f"{server.root}/metrics").text
    assert 'hearth_requests_total{method="POST",route="/v1/chat/completions",status="200"}' in text
    assert 'hearth_tokens_total{direction="completion"}' in text
    assert "hearth_time_to_first_token_seconds_bucket" in text
    assert "hearth_queue_depth" in text
