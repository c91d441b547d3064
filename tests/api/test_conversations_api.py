"""``/v1/conversations`` over HTTP, with a real SQLite or PostgreSQL store behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from hearth.api.conversations.router import router
from hearth.config import Settings
from hearth.errors import HearthError
from hearth.governance.gate_writer import GateWriter
from hearth.store import conversations as store
from hearth.store.db import Database


def make_app(db: Database, settings: Settings) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.state.db = db
    app.state.settings = settings
    app.state.gate = GateWriter(db)

    # Stands in for the real app's handler, which maps every HearthError the same way.
    @app.exception_handler(HearthError)
    async def _hearth(_: Request, exc: HearthError) -> JSONResponse:
        body = {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
        return JSONResponse({"error": body}, status_code=exc.status)

    return app


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(db, Settings(home=tmp_path))) as test_client:
        yield test_client


def test_a_stored_conversation_is_returned_with_its_messages(
    client: TestClient, db: Database
) -> None:
    conversation = store.start_conversation(db, model="qwen")
    store.append_messages(db, conversation.id, [
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "Hi!"},
    ])

    response = client.get(f"/v1/conversations/{conversation.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == conversation.id
    assert body["object"] == "conversation"
    assert body["title"] == "Hello there"
    assert body["model"] == "qwen"
    assert isinstance(body["created_at"], int) and body["updated_at"] >= body["created_at"]
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", "Hello there"), ("assistant", "Hi!"),
    ]


def test_conversations_are_listed_newest_first_without_messages(
    client: TestClient, db: Database
) -> None:
    older = store.start_conversation(db, model="qwen", title="older")
    newer = store.start_conversation(db, model="qwen", title="newer")

    body = client.get("/v1/conversations").json()

    assert body["object"] == "list"
    assert [item["id"] for item in body["data"]] == [newer.id, older.id]
    assert all(item["object"] == "conversation" for item in body["data"])
    assert all("messages" not in item for item in body["data"])


def test_limit_caps_the_list(client: TestClient, db: Database) -> None:
    for _ in range(3):
        store.start_conversation(db, model="qwen")
    assert len(client.get("/v1/conversations", params={"limit": 2}).json()["data"]) == 2


@pytest.mark.parametrize("limit", [0, 101, "many"])
def test_limit_outside_1_to_100_is_refused(client: TestClient, limit: int | str) -> None:
    assert client.get("/v1/conversations", params={"limit": limit}).status_code == 422


def test_unknown_conversation_is_an_openai_style_404(client: TestClient) -> None:
    response = client.get("/v1/conversations/conv_missing")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "conversation_id"
    assert "conv_missing" in error["message"]


def test_truncating_keeps_the_first_messages_of_the_callers_own_conversation(
    client: TestClient, db: Database
) -> None:
    conversation = store.start_conversation(db, model="qwen")
    store.append_messages(db, conversation.id, [
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"},
    ])
    theirs = store.start_conversation(db, model="qwen", org_id="acme", user_id="mallory")

    assert client.delete(f"/v1/conversations/{conversation.id}/messages?keep=1").status_code == 204
    assert [m["content"] for m in client.get(f"/v1/conversations/{conversation.id}")
            .json()["messages"]] == ["Hello"]
    assert client.delete(f"/v1/conversations/{theirs.id}/messages?keep=0").status_code == 404
    assert client.delete(f"/v1/conversations/{conversation.id}/messages?keep=-1").status_code == 422
    assert client.delete(f"/v1/conversations/{conversation.id}/messages").status_code == 422


def test_another_users_conversation_is_neither_listed_nor_readable(
    client: TestClient, db: Database
) -> None:
    theirs = store.start_conversation(db, model="qwen", org_id="acme", user_id="mallory")

    assert client.get("/v1/conversations").json()["data"] == []
    assert client.get(f"/v1/conversations/{theirs.id}").status_code == 404
