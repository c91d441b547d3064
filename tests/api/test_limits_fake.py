"""What protects a live `hearth serve`: bounded queue, freed slots, metrics.

Keys, scopes and plan limits are tested in test_governance_api.py.

The fake engine's ``HEARTH_FAKE_TOKEN_DELAY`` makes each word take a while, so a test can hold
a slot, fill the queue, or walk away from a request halfway through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from live_server import FAKE_ENV, LiveServer, start_server
from prometheus_client.parser import text_string_to_metric_families

MODEL = FAKE_ENV["HEARTH_MODEL"]
TOKEN_DELAY = 0.2
LONG_TEXT = " ".join(f"word{i}" for i in range(50))  # 52 tokens: over 10 s at 0.2 s each


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def sdk(server: LiveServer, api_key: str = "unused", **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=0,
                         timeout=30, **options)


def assert_openai_error(response: httpx.Response, status: int, *, type_: str,
                        code: str | None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert (error["type"], error["code"]) == (type_, code)


def queue_depth(server: LiveServer) -> int:
    return httpx.get(f"{server.root}/healthz", timeout=5).json()["queue_depth"]


def wait_for_queue_depth(server: LiveServer, depth: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while (seen := queue_depth(server)) != depth:
        assert time.monotonic() < deadline, f"queue depth stayed {seen}, expected {depth}"
        time.sleep(0.05)


def streamed_text(client: openai.OpenAI, text: str) -> str:
    stream = client.chat.completions.create(model=MODEL, messages=ask(text), stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


# --- queue and slots ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("slow"), env={
        **FAKE_ENV, "HEARTH_PARALLEL": "1", "HEARTH_MAX_QUEUE": "1",
        "HEARTH_FAKE_TOKEN_DELAY": str(TOKEN_DELAY),
    })
    yield live
    live.stop()


@pytest.fixture
def idle_slow_server(slow_server: LiveServer) -> LiveServer:
    """The one-slot server with nothing generating or waiting."""
    wait_for_queue_depth(slow_server, 0, within=15)
    return slow_server


def test_full_queue_answers_503_with_retry_after(idle_slow_server: LiveServer) -> None:
    server = idle_slow_server
    client = sdk(server)
    text = "eight words that take two seconds to say"  # 10 tokens

    with ThreadPoolExecutor(2) as pool:
        active = pool.submit(streamed_text, client, text)
        wait_for_queue_depth(server, 1)
        waiting = pool.submit(streamed_text, client, text)
        wait_for_queue_depth(server, 2)

        with pytest.raises(openai.InternalServerError) as refused:
            client.chat.completions.create(model=MODEL, messages=ask("and me?"))

        assert active.result(timeout=15) == f"You said: {text}"
        assert waiting.result(timeout=15) == f"You said: {text}"

    response = refused.value.response
    assert_openai_error(response, 503, type_="server_error", code="server_overloaded")
    assert int(response.headers["retry-after"]) >= 1
    wait_for_queue_depth(server, 0)
    reply = client.chat.completions.create(model=MODEL, messages=ask("now?"))
    assert reply.choices[0].message.content == "You said: now?"


def test_closing_a_stream_frees_its_slot_at_once(idle_slow_server: LiveServer) -> None:
    server = idle_slow_server
    body = {"model": MODEL, "messages": ask(LONG_TEXT), "stream": True}

    with httpx.Client(timeout=30) as http:
        with http.stream("POST", f"{server.base_url}/chat/completions", json=body) as response:
            assert response.status_code == 200
            events = (line for line in response.iter_lines() if line.startswith("data: "))
            deltas = [json.loads(next(events).removeprefix("data: "))["choices"][0]["delta"]
                      for _ in range(3)]
            assert [delta.get("content") for delta in deltas] == ["", "You", " said:"]
            assert queue_depth(server) == 1
        closed = time.monotonic()

    wait_for_queue_depth(server, 0, within=2)
    reply = sdk(server).chat.completions.create(model=MODEL, messages=ask("next"))
    assert reply.choices[0].message.content == "You said: next"
    # The abandoned answer had about 10 s left to go; the slot did not wait for it.
    assert time.monotonic() - closed < 6


def test_client_timing_out_on_a_whole_answer_frees_its_slot(idle_slow_server: LiveServer) -> None:
    server = idle_slow_server

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/chat/completions",
                   json={"model": MODEL, "messages": ask(LONG_TEXT)},
                   timeout=httpx.Timeout(10, read=0.5))
    gave_up = time.monotonic()

    wait_for_queue_depth(server, 0, within=3)  # the server looks every 0.5 s
    reply = sdk(server).chat.completions.create(model=MODEL, messages=ask("next"))
    assert reply.choices[0].message.content == "You said: next"
    assert time.monotonic() - gave_up < 6


# --- metrics ------------------------------------------------------------------------------


def test_metrics_count_requests_tokens_and_latency(idle_slow_server: LiveServer) -> None:
    server = idle_slow_server
    client = sdk(server)
    client.chat.completions.create(model=MODEL, messages=ask("count me"))
    streamed_text(client, "and me")
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=ask("hi"), n=2)

    text = httpx.get(f"{server.root}/metrics").text
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    def value(name: str, **labels: str) -> float:
        return sum(s.value for s in samples
                   if s.name == name and labels.items() <= s.labels.items())

    chat = "/v1/chat/completions"
    assert value("hearth_requests_total", route=chat, method="POST", status="200") >= 2
    assert value("hearth_requests_total", route=chat, method="POST", status="400") >= 1
    assert value("hearth_tokens_total", direction="prompt") >= 10
    assert value("hearth_tokens_total", direction="completion") >= 8
    assert value("hearth_time_to_first_token_seconds_count") >= 2
    assert value("hearth_request_duration_seconds_count", route=chat) >= 3
    assert any(s.name == "hearth_queue_depth" for s in samples)
