"""The assistant remembers: facts told in one chat are used in a new one (real model, SDK)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from live_server import LiveServer, default_model_path, start_server

pytestmark = pytest.mark.model
MODEL = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("home"),
                        args=["--model", str(default_model_path()), "--parallel", "2",
                              "--context-length", "2048"])
    yield live
    live.stop()


def wait_for_memories(server: LiveServer, user: str, count: int, timeout: float = 120) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = httpx.get(f"{server.base_url}/memories", headers={"X-Hearth-User": user}).json()
        if len(data["data"]) >= count:
            return data["data"]
        time.sleep(0.5)
    raise AssertionError(f"memory worker stored fewer than {count} memories for {user}")


def test_a_fact_told_in_one_chat_is_used_in_a_new_chat(server: LiveServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)
    client.chat.completions.create(
        model=MODEL, user="ingrid", max_tokens=16, temperature=0,
        metadata={"conversation": "first-chat"},
        messages=[{"role": "user", "content": "I live in Reykjavik and my dog is called Skadi."}],
    )
    stored = wait_for_memories(server, "ingrid", 1)
    assert any("Reykjavik" in m["text"] for m in stored)

    answer = client.chat.completions.create(
        model=MODEL, user="ingrid", max_tokens=24, temperature=0,
        metadata={"conversation": "second-chat"},
        messages=[{"role": "user", "content": "Which city do I live in?"}],
    ).choices[0].message.content
    assert "reykjavik" in answer.lower()

    stranger = client.chat.completions.create(
        model=MODEL, user="someone-else", max_tokens=24, temperature=0,
        messages=[{"role": "user", "content": "Which city do I live in?"}],
    ).choices[0].message.content
    assert "reykjavik" not in stranger.lower()

    unremembered = client.chat.completions.create(
        model=MODEL, user="ingrid", max_tokens=24, temperature=0,
        extra_headers={"X-Hearth-Memory": "off"},
        messages=[{"role": "user", "content": "Which city do I live in?"}],
    ).choices[0].message.content
    assert "reykjavik" not in unremembered.lower()
