"""`hearth serve --engine upstream` in front of the fake OpenAI-compatible upstream, both real
processes on 127.0.0.1, driven by the official SDK.

The fake upstream answers "Hello! I am a fake upstream." (six words, one token each in its
usage) and counts a prompt as len(content) // 4 + 1 tokens per message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import openai
import pytest

from live_server import (
    FakeUpstreamServer,
    LiveServer,
    free_port,
    start_fake_upstream,
    start_server,
)

MODEL = "gateway-model"
ANSWER = "Hello! I am a fake upstream."
QUESTION = "Say hello, please."  # 18 characters: 5 prompt tokens at the fake upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstreamServer]:
    server = start_fake_upstream(["--context-length", "100"])
    yield server
    server.stop()


def upstream_env(*urls: str) -> dict[str, str]:
    return {"HEARTH_ENGINE": "upstream", "HEARTH_MODEL": MODEL,
            "HEARTH_UPSTREAM_URL": ",".join(urls), "HEARTH_MEMORY": "false"}


def sdk(live: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.base_url, api_key="unused", max_retries=0, timeout=10)


def hearth_in_front_of(serve: Callable[..., LiveServer], *urls: str) -> openai.OpenAI:
    return sdk(serve(env=upstream_env(*urls)))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory,
           upstream: FakeUpstreamServer) -> Iterator[openai.OpenAI]:
    live = start_server(tmp_path_factory.mktemp("home"), env=upstream_env(upstream.base_url))
    yield sdk(live)
    live.stop()


def ask(text: str = QUESTION) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


def test_a_whole_answer_comes_from_the_upstream_under_hearths_model_name(
    client: openai.OpenAI,
) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=ask())
    assert reply.model == MODEL
    assert reply.choices[0].message.content == ANSWER
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (5, 6)


def test_a_streamed_answer_arrives_chunk_by_chunk_with_the_upstreams_usage(
    client: openai.OpenAI,
) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask(), stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks
              if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == ANSWER
    assert len(pieces) == 6  # one chunk per upstream chunk, not one block at the end
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (5, 6)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_reasoning_comes_back_apart_and_the_effort_is_passed_on(
    client: openai.OpenAI, stream: bool,
) -> None:
    # The fake upstream thinks only when given an effort, and names its reasoning
    # reasoning_content in a whole answer, reasoning in a stream.
    if stream:
        deltas = [c.choices[0].delta.model_dump() for c in client.chat.completions.create(
            model=MODEL, messages=ask(), reasoning_effort="medium", stream=True) if c.choices]
        reasoning = "".join(d.get("reasoning") or "" for d in deltas)
        content = "".join(d["content"] or "" for d in deltas)
    else:
        message = client.chat.completions.create(
            model=MODEL, messages=ask(), reasoning_effort="medium").choices[0].message.model_dump()
        reasoning, content = message["reasoning"], message["content"]
    assert (reasoning, content) == ("Thinking (medium).", ANSWER)


@pytest.mark.parametrize("stream", [False, True])
def test_max_tokens_reaches_the_upstream_and_its_length_finish_comes_back(
    client: openai.OpenAI, stream: bool,
) -> None:
    if stream:
        chunks = list(client.chat.completions.create(
            model=MODEL, messages=ask(), max_tokens=2, stream=True,
            stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
        usage = chunks[-1].usage
    else:
        reply = client.chat.completions.create(model=MODEL, messages=ask(), max_tokens=2)
        text, finish, usage = (reply.choices[0].message.content, reply.choices[0].finish_reason,
                               reply.usage)
    assert (text, finish) == ("Hello! I", "length")
    assert usage is not None and usage.completion_tokens == 2


@pytest.mark.parametrize("stream", [False, True])
def test_a_forced_tool_call_is_passed_through(client: openai.OpenAI, stream: bool) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
    if stream:
        chunks = list(client.chat.completions.create(
            model=MODEL, messages=ask(), tools=tools, tool_choice="required", stream=True))
        calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
        name, arguments = calls[0].function.name, "".join(c.function.arguments for c in calls)
    else:
        reply = client.chat.completions.create(model=MODEL, messages=ask(), tools=tools,
                                               tool_choice="required")
        call = reply.choices[0].message.tool_calls[0]
        finish, name, arguments = reply.choices[0].finish_reason, call.function.name, \
            call.function.arguments
    assert (finish, name, json.loads(arguments)) == ("tool_calls", "get_weather", {})


def test_an_upstream_400_reaches_the_client_with_the_upstreams_message(
    client: openai.OpenAI,
) -> None:
    # The fake upstream's context is 100 tokens; hearth's own limit (4096) lets 500 through.
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=ask(), max_tokens=500)
    error = caught.value.body
    assert isinstance(error, dict)
    assert "maximum context length is 100 tokens" in error["message"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "max_tokens")


def test_embeddings_are_forwarded_to_the_upstream(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=MODEL, input=["one", "two"])
    assert [len(item.embedding) for item in result.data] == [8, 8]
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 2


@pytest.mark.parametrize("broken", ["unreachable", "answers 503"])
def test_requests_fail_over_from_a_broken_replica_to_a_working_one(
    serve: Callable[..., LiveServer], upstream: FakeUpstreamServer, broken: str,
) -> None:
    failing = start_fake_upstream(["--error-status", "503"]) if broken == "answers 503" else None
    try:
        bad_url = failing.base_url if failing else dead_url()
        client = hearth_in_front_of(serve, bad_url, upstream.base_url)
        for _ in range(4):  # round-robin would send two of these to the broken replica
            reply = client.chat.completions.create(model=MODEL, messages=ask())
            assert reply.choices[0].message.content == ANSWER
        stream = client.chat.completions.create(model=MODEL, messages=ask(), stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ANSWER
    finally:
        if failing:
            failing.stop()


def test_a_dead_upstream_gives_a_clean_openai_502(serve: Callable[..., LiveServer]) -> None:
    client = hearth_in_front_of(serve, dead_url())
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model=MODEL, messages=ask(), stream=stream)
        assert caught.value.status_code == 502
        error = caught.value.body
        assert isinstance(error, dict)
        assert (error["type"], error["code"]) == ("server_error", "upstream_error")
        assert "No upstream replica could answer" in error["message"]


def test_hearth_without_an_upstream_url_refuses_to_start(
    serve: Callable[..., LiveServer],
) -> None:
    with pytest.raises(RuntimeError, match="HEARTH_UPSTREAM_URL"):
        serve(env={"HEARTH_ENGINE": "upstream", "HEARTH_MODEL": MODEL, "HEARTH_MEMORY": "false",
                   "HEARTH_UPSTREAM_URL": ""})

