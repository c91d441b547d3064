"""Whatever body a client sends to ``POST /v1/responses``, the answer is a response or a 4xx in
OpenAI's error shape, never a 5xx (the helpers of ``body_fuzz``, as the chat route's fuzz)."""

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
RESPONSES = "/v1/responses"
# Every field the route reads, each valid, so that the fuzz reaches each one's checks.
VALID_RESPONSE_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "instructions": "Be brief.",
    "input": [
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "What is six times seven?"}]},
        {"type": "function_call", "call_id": "call_1", "name": "multiply",
         "arguments": "{\"a\": 6, \"b\": 7}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        {"type": "reasoning", "id": "rs_1", "summary": [],
         "content": [{"type": "reasoning_text", "text": "Six sevens."}]},
    ],
    "tools": [{"type": "function", "name": "multiply", "description": "a times b",
               "parameters": {"type": "object", "properties": {"a": {"type": "number"},
                                                               "b": {"type": "number"}}}}],
    "tool_choice": "auto", "parallel_tool_calls": True,
    "text": {"format": {"type": "json_schema", "name": "answer", "schema": {
        "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}},
    "max_output_tokens": 8, "temperature": 0.5, "top_p": 0.9, "reasoning": {"effort": "low"},
    "metadata": {"topic": "sums"}, "user": "fuzzer", "store": False, "stream": False,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None, engine="fake",
                        model=MODEL, memory=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_valid_body_the_fuzz_starts_from_is_answered(client: TestClient) -> None:
    response = client.post(RESPONSES, json=VALID_RESPONSE_REQUEST)
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "response"


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=bodies_near(VALID_RESPONSE_REQUEST))
def test_any_responses_body_is_answered_in_openai_shape_never_with_a_5xx(
        client: TestClient, body: bytes) -> None:
    response = client.post(RESPONSES, content=body, headers={"Content-Type": "application/json"})
    assert_openai_answer(response)
