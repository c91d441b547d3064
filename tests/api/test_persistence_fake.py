"""Turns that name a conversation (``metadata={"conversation": …}``) are stored as they happen,
and an answered turn survives even a ``kill -9`` of the server; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from live_server import FAKE_ENV, LiveServer, start_server

MODEL = FAKE_ENV["HEARTH_MODEL"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("home"),
                        env={**FAKE_ENV, "HEARTH_DATABASE_URL": module_database_url})
    yield live
    live.stop()


def sdk(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=10)


def stored(server: LiveServer, conversation_id: str) -> list[tuple[str, str | None]]:
    response = httpx.get(f"{server.base_url}/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


def say(client: openai.OpenAI, history: list[dict[str, Any]], text: str,
        conversation_id: str) -> str:
    """One turn: add the user's words and the answer to ``history``; return the answer."""
    history.append({"role": "user", "content": text})
    reply = client.chat.completions.create(model=MODEL, messages=history,
                                           metadata={"conversation": conversation_id})
    answer = reply.choices[0].message.content
    history.append({"role": "assistant", "content": answer})
    return answer


def test_a_named_conversation_stores_the_user_and_assistant_messages(
    server: LiveServer,
) -> None:
    client = sdk(server)

    answer = say(client, [], "hello there", "conv-test-1")

    assert answer == "You said: hello there"
    assert stored(server, "conv-test-1") == [("user", "hello there"), ("assistant", answer)]


def test_a_second_turn_with_the_full_history_appends_only_the_new_messages(
    server: LiveServer,
) -> None:
    client = sdk(server)
    history: list[dict[str, Any]] = [{"role": "system", "content": "Be brief."}]

    say(client, history, "first question", "conv-two-turns")
    say(client, history, "second question", "conv-two-turns")

    assert stored(server, "conv-two-turns") == [
        ("system", "Be brief."),
        ("user", "first question"), ("assistant", "You said: first question"),
        ("user", "second question"), ("assistant", "You said: second question"),
    ]


def test_stored_conversations_are_listed_with_their_title(server: LiveServer) -> None:
    say(sdk(server), [], "a title from the first user message", "conv-listed")

    listed = httpx.get(f"{server.base_url}/conversations").json()

    assert listed["object"] == "list"
    by_id = {item["id"]: item for item in listed["data"]}
    assert by_id["conv-listed"]["title"] == "a title from the first user message"
    assert by_id["conv-listed"]["model"] == MODEL
    assert listed["data"][0]["id"] == "conv-listed"  # most recently updated first


def test_a_streamed_turn_is_stored_too(server: LiveServer) -> None:
    stream = sdk(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "stream this please"}], stream=True,
        metadata={"conversation": "conv-streamed"},
    )
    answer = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert answer == "You said: stream this please"
    assert stored(server, "conv-streamed") == [("user", "stream this please"),
                                                ("assistant", answer)]


def test_a_forced_tool_call_is_stored_with_its_calls(server: LiveServer) -> None:
    tool = {"type": "function", "function": {
        "name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}},
                                         "required": ["q"]}}}

    reply = sdk(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "look it up"}], tools=[tool],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
        metadata={"conversation": "conv-tools"},
    )

    [call] = reply.choices[0].message.tool_calls
    messages = httpx.get(f"{server.base_url}/conversations/conv-tools").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["tool_calls"][0]["id"] == call.id
    assert messages[1]["tool_calls"][0]["function"]["name"] == "lookup"


def test_a_turn_without_a_conversation_is_not_stored(server: LiveServer) -> None:
    before = httpx.get(f"{server.base_url}/conversations", params={"limit": 100}).json()["data"]

    sdk(server).chat.completions.create(model=MODEL,
                                        messages=[{"role": "user", "content": "off the record"}])

    after = httpx.get(f"{server.base_url}/conversations", params={"limit": 100}).json()["data"]
    assert [c["id"] for c in after] == [c["id"] for c in before]


def test_every_answered_turn_survives_kill_9(serve: Callable[..., LiveServer],
                                             database_url: str) -> None:
    env = {**FAKE_ENV, "HEARTH_DATABASE_URL": database_url}
    server = serve(env=env)
    client = sdk(server)
    histories: dict[str, list[dict[str, Any]]] = {"conv-kill-a": [], "conv-kill-b": []}
    for turn in range(3):
        for conversation_id, history in histories.items():
            say(client, history, f"turn {turn} of {conversation_id}", conversation_id)

    server.kill()
    restarted = serve(env=env, home=server.home)

    for conversation_id, history in histories.items():
        assert stored(restarted, conversation_id) == [(m["role"], m["content"]) for m in history]
