"""The OpenAI-compatible API of a live `hearth serve`, driven by the official SDK and raw HTTP.

The fake engine answers "You said: <last user message>", one word per token, so every
number below (usage, max_tokens, context overflow) can be worked out by hand: a prompt costs
its words plus 3 per message.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from live_server import FAKE_ENV, LiveServer, start_server

MODEL = FAKE_ENV["HEARTH_MODEL"]
CONTEXT_LENGTH = 256
MAX_TOKENS_LIMIT = 64
MAX_BODY_BYTES = 4096

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("home"), env={
        **FAKE_ENV,
        "HEARTH_CONTEXT_LENGTH": str(CONTEXT_LENGTH),
        "HEARTH_MAX_TOKENS_LIMIT": str(MAX_TOKENS_LIMIT),
        "HEARTH_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    })
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=10)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as raw:
        yield raw


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def assert_openai_error(response: httpx.Response, status: int, *, param: str | None = None,
                        code: str | None = None) -> dict[str, Any]:
    """The response is an OpenAI-shaped error with this status (and param/code when given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] in {"invalid_request_error", "authentication_error",
                             "rate_limit_error", "server_error"}
    if param is not None:
        assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    return error


def assert_still_answers(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=ask("still there"))
    assert reply.choices[0].message.content == "You said: still there"


def post_chat(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return http.post("/chat/completions", json=body)


# --- answers -------------------------------------------------------------------------------


def test_chat_answers_with_content_usage_and_stop(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, *ask("hello there")],
    )

    assert reply.object == "chat.completion"
    assert reply.model == MODEL
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "You said: hello there"
    assert choice.finish_reason == "stop"
    # system: 2 words + 3, user: 2 words + 3; answer: 4 words.
    assert reply.usage.prompt_tokens == 10
    assert reply.usage.completion_tokens == 4
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_streaming_yields_the_answer_in_pieces_then_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=ask("one two three"), stream=True,
        stream_options={"include_usage": True},
    )

    pieces: list[str] = []
    finishes: list[str] = []
    usage_chunks = []
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            if chunk.choices[0].finish_reason:
                finishes.append(chunk.choices[0].finish_reason)
        else:
            usage_chunks.append(chunk)

    assert "".join(pieces) == "You said: one two three"
    assert len([p for p in pieces if p]) == 5  # one piece per word
    assert finishes == ["stop"]
    assert len(usage_chunks) == 1 and usage_chunks[0].usage is not None
    usage = usage_chunks[0].usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (6, 5, 11)


def test_reasoning_effort_brings_reasoning_apart_from_the_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=ask("two words"),
                                           reasoning_effort="low")

    message = reply.choices[0].message.model_dump()
    assert message["content"] == "You said: two words"
    assert message["reasoning"] == message["reasoning_content"] == "Thinking (low) about: two words"
    assert reply.usage.completion_tokens == 5 + 4  # the thinking counts as completion


def test_streamed_reasoning_comes_in_deltas_of_its_own_before_the_answer(
    client: openai.OpenAI,
) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True,
                                            reasoning_effort="high")

    deltas = [chunk.choices[0].delta.model_dump() for chunk in stream if chunk.choices]
    thinking = [d for d in deltas if d.get("reasoning")]
    assert all(d["reasoning_content"] == d["reasoning"] and not d["content"] for d in thinking)
    assert "".join(d["reasoning"] for d in thinking) == "Thinking (high) about: hi"
    answer_starts = next(i for i, d in enumerate(deltas) if d["content"])
    assert deltas.index(thinking[-1]) < answer_starts
    assert "".join(d["content"] or "" for d in deltas) == "You said: hi"


def test_an_unknown_reasoning_effort_is_a_400(http: httpx.Client) -> None:
    response = post_chat(http, {"model": MODEL, "messages": ask("hi"),
                                "reasoning_effort": "enormous"})
    assert_openai_error(response, 400, param="reasoning_effort")


def test_raw_stream_is_server_sent_events_ending_with_done(http: httpx.Client) -> None:
    body = {"model": MODEL, "messages": ask("hi"), "stream": True}
    with http.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]

    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1


def test_max_tokens_cuts_the_answer_with_finish_reason_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=ask("a long sentence to repeat"), max_tokens=2,
    )

    assert reply.choices[0].message.content == "You said:"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 2


def test_max_completion_tokens_is_honoured_like_max_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=ask("a long sentence to repeat"), max_completion_tokens=3,
    )

    assert reply.choices[0].message.content == "You said: a"
    assert reply.choices[0].finish_reason == "length"


def test_stop_sequence_ends_the_answer_before_it(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=ask("first part END second part"), stop=["END", "never"],
    )

    content = reply.choices[0].message.content
    assert content.rstrip() == "You said: first part"
    assert "END" not in content and "second" not in content
    assert reply.choices[0].finish_reason == "stop"


def test_streamed_answer_never_shows_part_of_a_stop_sequence(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=ask("keep this STOP-HERE drop this"), stop="STOP-HERE",
        stream=True,
    )

    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert text.rstrip() == "You said: keep this"


def test_json_schema_response_format_returns_json_that_validates(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer"},
            "coastal": {"type": "boolean"},
            "districts": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "kind": {"enum": ["capital", "town"]},
        },
        "required": ["city", "population", "coastal", "districts", "kind"],
        "additionalProperties": False,
    }

    reply = client.chat.completions.create(
        model=MODEL, messages=ask("Describe Lisbon."),
        response_format={"type": "json_schema",
                         "json_schema": {"name": "city", "schema": schema, "strict": True}},
    )

    jsonschema.validate(json.loads(reply.choices[0].message.content), schema)
    assert reply.choices[0].finish_reason == "stop"


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}


def test_forced_tool_call_then_tool_result_round_trip(client: openai.OpenAI) -> None:
    messages: list[dict[str, Any]] = ask("What is the weather in Oslo?")

    reply = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments),
                        WEATHER_TOOL["function"]["parameters"])

    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}},
        ]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 4}'},
    ]
    answer = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])

    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.content
    assert not answer.choices[0].message.tool_calls


def test_embeddings_have_one_vector_per_input_and_count_tokens(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=MODEL, input=["one", "two words", "and three words"],
                                      encoding_format="float")

    assert [item.index for item in result.data] == [0, 1, 2]
    assert len({len(item.embedding) for item in result.data}) == 1
    assert len(result.data[0].embedding) > 0
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 6
    assert result.usage.total_tokens == 6


def test_embeddings_in_the_sdk_default_base64_match_the_float_ones(
    client: openai.OpenAI,
) -> None:
    # The SDK asks for base64 unless told otherwise, and decodes it to floats itself.
    as_base64 = client.embeddings.create(model=MODEL, input="hello").data[0].embedding
    as_floats = client.embeddings.create(model=MODEL, input="hello",
                                         encoding_format="float").data[0].embedding

    assert as_base64 == pytest.approx(as_floats, rel=1e-6)


def test_models_lists_and_retrieves_the_served_model(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list().data] == [MODEL]
    card = client.models.retrieve(MODEL)
    assert card.id == MODEL
    assert card.object == "model"


def test_another_model_id_is_not_found(client: openai.OpenAI, http: httpx.Client) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")
    assert_openai_error(http.get("/models/gpt-4o"), 404, code="model_not_found")


def test_healthz_answers_without_auth(server: LiveServer) -> None:
    response = httpx.get(f"{server.root}/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["model"] == MODEL
    assert body["queue_depth"] == 0


# --- errors --------------------------------------------------------------------------------


def test_another_method_on_the_chat_route_is_a_405_naming_post(http: httpx.Client) -> None:
    response = http.get("/chat/completions")

    assert_openai_error(response, 405)
    assert response.headers["allow"] == "POST"


def test_malformed_json_is_a_400(http: httpx.Client, client: openai.OpenAI) -> None:
    response = http.post("/chat/completions", content=b'{"model": "fake-model", "messages": [',
                         headers={"content-type": "application/json"})

    assert_openai_error(response, 400)
    assert_still_answers(client)


@pytest.mark.parametrize(("field", "value"), [
    ("messages", "hello"),
    ("temperature", "hot"),
    ("max_tokens", "many"),
    ("stream", {"yes": 1}),
])
def test_wrong_type_is_a_400_naming_the_parameter(
    http: httpx.Client, client: openai.OpenAI, field: str, value: Any
) -> None:
    body = {"model": MODEL, "messages": ask("hi"), field: value}

    error = assert_openai_error(post_chat(http, body), 400)

    assert error["param"] == field
    assert field in error["message"]
    assert_still_answers(client)


@pytest.mark.parametrize(("param", "extra"), [
    ("max_tokens", {"max_tokens": -1}),
    ("max_tokens", {"max_tokens": 0}),
    ("max_tokens", {"max_tokens": MAX_TOKENS_LIMIT + 1}),
    ("max_tokens", {"max_completion_tokens": 10_000_000}),
    ("temperature", {"temperature": 5}),
    ("temperature", {"temperature": -0.5}),
    ("top_p", {"top_p": 0}),
    ("n", {"n": 2}),
    ("stop", {"stop": ["a", "b", "c", "d", "e"]}),
    ("seed", {"seed": -3}),
], ids=lambda v: json.dumps(v) if isinstance(v, dict) else v)
def test_out_of_range_parameter_is_a_400_naming_it(
    client: openai.OpenAI, param: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=ask("hi"), **extra)

    error = assert_openai_error(refused.value.response, 400)
    assert error["param"] == param or (param == "max_tokens"
                                       and error["param"] == "max_completion_tokens")
    assert_still_answers(client)


def test_fields_hearth_does_not_declare_are_dropped_not_refused(client: openai.OpenAI) -> None:
    """Clients send their own extras; refusing them would break those clients."""
    answer = client.chat.completions.create(
        model=MODEL, messages=ask("hi"),
        extra_body={"logprobs": True, "top_k": 5, "vendor_option": {"x": 1}})

    assert answer.choices[0].message.content


def test_unknown_model_is_a_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        client.chat.completions.create(model="gpt-4o", messages=ask("hi"))

    error = assert_openai_error(refused.value.response, 404, param="model",
                                code="model_not_found")
    assert "gpt-4o" in error["message"]
    assert_still_answers(client)


def oversized_body() -> bytes:
    body = json.dumps({"model": MODEL, "messages": ask("x" * MAX_BODY_BYTES)}).encode()
    assert len(body) > MAX_BODY_BYTES
    return body


def test_body_over_the_limit_is_a_413(http: httpx.Client, client: openai.OpenAI) -> None:
    response = http.post("/chat/completions", content=oversized_body(),
                         headers={"content-type": "application/json"})

    assert "content-length" in response.request.headers
    assert_openai_error(response, 413, code="payload_too_large")
    assert_still_answers(client)


def test_chunked_body_over_the_limit_is_a_413(http: httpx.Client, client: openai.OpenAI) -> None:
    body = oversized_body()
    pieces = iter([body[i:i + 1000] for i in range(0, len(body), 1000)])

    response = http.post("/chat/completions", content=pieces,
                         headers={"content-type": "application/json"})

    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert_openai_error(response, 413, code="payload_too_large")
    assert_still_answers(client)


def test_chunked_body_under_the_limit_is_served(http: httpx.Client) -> None:
    body = json.dumps({"model": MODEL, "messages": ask("in pieces")}).encode()
    pieces = iter([body[:10], body[10:]])

    response = http.post("/chat/completions", content=pieces,
                         headers={"content-type": "application/json"})

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "You said: in pieces"


def test_tool_message_without_tool_call_id_is_a_400(
    http: httpx.Client, client: openai.OpenAI
) -> None:
    messages = [*ask("hi"), {"role": "tool", "content": "42"}]

    error = assert_openai_error(post_chat(http, {"model": MODEL, "messages": messages}), 400)

    assert "tool_call_id" in error["message"]
    assert error["param"].startswith("messages")
    assert_still_answers(client)


def test_tool_choice_naming_an_unknown_function_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=MODEL, messages=ask("hi"), tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "launch_rockets"}},
        )

    error = assert_openai_error(refused.value.response, 400, param="tool_choice")
    assert "launch_rockets" in error["message"]
    assert_still_answers(client)


def test_prompt_longer_than_the_context_is_a_400_context_length_exceeded(
    client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=ask("word " * (CONTEXT_LENGTH + 10)))

    assert_openai_error(refused.value.response, 400, code="context_length_exceeded")
    assert_still_answers(client)


def test_prompt_plus_max_tokens_over_the_context_is_a_400_context_length_exceeded(
    client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=ask("word " * (CONTEXT_LENGTH - 20)),
                                       max_tokens=MAX_TOKENS_LIMIT)

    assert_openai_error(refused.value.response, 400, code="context_length_exceeded")
    assert_still_answers(client)


def test_streaming_request_refused_before_it_starts_is_a_plain_400(http: httpx.Client) -> None:
    body = {"model": MODEL, "messages": ask("word " * (CONTEXT_LENGTH + 10)), "stream": True}

    assert_openai_error(post_chat(http, body), 400, code="context_length_exceeded")


# --- the wire ------------------------------------------------------------------------------


def raw_exchange(server: LiveServer, request: bytes, *, expect_continue: bytes | None = None,
                 answers: int = 1) -> bytes:
    """Send raw HTTP/1.1 on one connection; with ``expect_continue``, send that body only
    after the server's interim 100. Returns what came back once ``answers`` bodies ended."""
    host, port = server.base_url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        if expect_continue is not None:
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(expect_continue)
        while received.count(b'"usage"') < answers:
            received += sock.recv(65536)
        return received


def chat_request(body: bytes, extra_headers: bytes = b"") -> bytes:
    return (b"POST /v1/chat/completions HTTP/1.1\r\nhost: test\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (len(body), extra_headers))


def test_a_client_expecting_100_continue_gets_it_before_sending_the_body(
        server: LiveServer) -> None:
    body = json.dumps({"model": MODEL, "messages": ask("after the 100")}).encode()
    received = raw_exchange(server, chat_request(body, b"expect: 100-continue\r\n"),
                            expect_continue=body)
    assert b"HTTP/1.1 200 OK\r\n" in received
    assert b"You said: after the 100" in received


def test_answers_on_one_kept_alive_connection_come_back_whole_and_in_order(
        server: LiveServer) -> None:
    bodies = [json.dumps({"model": MODEL, "messages": ask(f"number {n}")}).encode()
              for n in (1, 2)]
    received = raw_exchange(server, b"".join(chat_request(b) + b for b in bodies), answers=2)
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert received.index(b"number 1") < received.index(b"number 2")
