"""What a careless or hostile client sends is a clear 4xx in OpenAI's error shape, never a 500.

The app runs in-process on the fake engine (memory on, no keys: the open local install), so
each case costs a request, not a server start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hearth.api.app import create_app
from hearth.config import Settings

MODEL = "fake-model"
PAST_64_BITS = 2**63
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory,
           embedder_cache: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None, engine="fake",
                        model=MODEL, memory=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_error(response: Any, status: int, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if param is not None:
        assert error["param"] == param, error
    return error


def chat_body(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/v1/memories?offset={PAST_64_BITS}"),
    ("GET", f"/v1/memories/{PAST_64_BITS}"),
    ("GET", f"/v1/memories/{PAST_64_BITS}/sources"),
    ("PATCH", f"/v1/memories/{PAST_64_BITS}"),
    ("DELETE", f"/v1/memories/{PAST_64_BITS}"),
    ("POST", f"/v1/memories/{PAST_64_BITS}/pin"),
    ("POST", f"/v1/memories/{PAST_64_BITS}/unpin"),
])
def test_an_integer_past_64_bits_is_a_400_not_a_database_overflow(client: TestClient,
                                                                  method: str, path: str) -> None:
    json = {"pinned": True} if method == "PATCH" else None
    assert_error(client.request(method, path, json=json), 400)
    largest = path.replace(str(PAST_64_BITS), str(PAST_64_BITS - 1))
    assert client.request(method, largest, json=json).status_code in (200, 404)


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/embeddings", '{"model": "fake-model", "input": "\\ud800"}'),
    ("/v1/embeddings", '{"model": "fake-model", "input": ["ok", "\\udfff"]}'),
    ("/v1/memories", '{"kind": "plan", "text": "a\\ud800b"}'),
    (CHAT, '{"model": "fake-model", "messages": [{"role": "user", "content": "\\ud800"}]}'),
])
def test_text_no_encoder_can_write_is_refused_as_invalid_json_on_every_route(
        client: TestClient, path: str, body: str) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_error(response, 400)["message"]


@pytest.mark.parametrize(("fields", "param"), [
    ({"stream": "yes"}, "stream"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"temperature": "0.5"}, "temperature"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tool_choice": {"foo": [1, 2]}}, "tool_choice"),
    ({"tool_choice": {"type": "function", "function": {"name": "nowhere"}},
      "tools": [{"type": "function", "function": {"name": "lookup"}}]}, "tool_choice"),
])
def test_chat_fields_of_the_wrong_type_or_meaning_are_a_400(client: TestClient,
                                                           fields: dict, param: str) -> None:
    error = assert_error(client.post(CHAT, json=chat_body(**fields)), 400)
    assert error["param"].split(".")[0] == param


def test_a_chat_body_that_is_not_sent_as_json_is_a_415(client: TestClient) -> None:
    body = '{"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}'
    response = client.post(CHAT, content=body, headers={"Content-Type": "text/plain"})
    assert assert_error(response, 415)["code"] == "unsupported_media_type"
    response = client.post("/v1/memories", content='{"kind": "plan", "text": "x"}',
                           headers={"Content-Type": "text/plain"})
    assert_error(response, 415)
    assert client.post(CHAT, content=body,
                       headers={"Content-Type": "application/json; charset=utf-8"}
                       ).status_code == 200


@pytest.mark.parametrize("schema", [
    {"type": "nonsense"},
    {"type": "object", "properties": 5},
    {"type": "object", "required": "name"},
])
def test_a_schema_that_is_not_a_json_schema_is_a_400_before_the_engine(
        client: TestClient, schema: dict) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    error = assert_error(client.post(CHAT, json=chat_body(response_format=response_format)),
                         400)
    assert error["param"] == "response_format.json_schema.schema"
    assert "not a valid JSON schema" in error["message"]
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    assert_error(client.post(CHAT, json=chat_body(tools=tools, tool_choice="required")), 400)


def test_a_valid_but_unusual_schema_is_answered_by_the_fake_engine(client: TestClient) -> None:
    schema = {"type": "object", "properties": {"a": True}, "required": ["a", "b"],
              "additionalProperties": False}
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert client.post(CHAT, json=chat_body(response_format=response_format)).status_code == 200


def test_two_different_authorization_headers_are_refused(client: TestClient) -> None:
    headers = [("Authorization", "Bearer hth_one"), ("Authorization", "Bearer hth_two")]
    for method, path, body in (("POST", CHAT, chat_body()), ("GET", "/v1/memories", None)):
        response = client.request(method, path, json=body, headers=headers)
        assert assert_error(response, 400)["code"] == "conflicting_credentials"


@pytest.mark.parametrize(("field", "days"), [("memory_retention_days", 1_000_000),
                                             ("conversation_retention_days", 10**19),
                                             ("memory_retention_days", 0)])
def test_retention_outside_one_day_to_a_hundred_years_is_a_400(client: TestClient, field: str,
                                                               days: int) -> None:
    assert_error(client.patch("/admin/v1/orgs/local", json={field: days}), 400, field)
    assert client.post("/admin/v1/purge").status_code == 200
