"""Whatever body a client sends to ``POST /v1/chat/completions``, the answer is a completion or
a 4xx in OpenAI's error shape, never a 5xx. (A route's fuzz is a valid body of its own and
the helpers of ``body_fuzz``.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from body_fuzz import assert_openai_answer, bodies_near
from hearth.api.app import create_app
from hearth.config import Settings

MODEL = "fake-model"
CHAT = "/v1/chat/completions"
# Every field the route reads, each valid, so that the fuzz reaches each one's checks.
VALID_CHAT: dict[str, Any] = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is six times seven?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "multiply", "arguments": "{\"a\": 6, \"b\": 7}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ],
    "max_tokens": 8, "temperature": 0.5, "top_p": 0.9, "seed": 1, "stop": ["\n\n"],
    "stream": False, "stream_options": {"include_usage": True}, "n": 1,
    "response_format": {"type": "json_schema", "json_schema": {
        "name": "answer", "schema": {"type": "object", "properties": {"n": {"type": "integer"}},
                                     "required": ["n"]}}},
    "tools": [{"type": "function", "function": {
        "name": "multiply", "description": "a times b",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"},
                                                        "b": {"type": "number"}}}}}],
    "tool_choice": "auto", "user": "fuzzer", "metadata": {"conversation": "fuzzed"},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None, engine="fake",
                        model=MODEL, memory=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_valid_body_the_fuzz_starts_from_is_answered(client: TestClient) -> None:
    response = client.post(CHAT, json=VALID_CHAT)
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "chat.completion"


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=bodies_near(VALID_CHAT))
def test_any_chat_body_is_answered_in_openai_shape_never_with_a_5xx(
        client: TestClient, body: bytes) -> None:
    response = client.post(CHAT, content=body, headers={"Content-Type": "application/json"})
    assert_openai_answer(response)
