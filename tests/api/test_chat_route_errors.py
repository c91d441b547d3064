"""The chat route is answered ahead of FastAPI's layers; what they did for it still holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hearth.api.app import create_app
from hearth.config import Settings
from hearth.engines.base import ChatRequest, Delta
from hearth.engines.fake import FakeEngine

CHAT = "/v1/chat/completions"


class BrokenEngine(FakeEngine):
    """An engine failing in a way nobody planned for."""

    async def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        raise RuntimeError("the engine broke")
        yield  # an async generator, like every engine's chat


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, database_url=None, engine="fake", model="fake-model",
                        memory=False, max_body_bytes=1024)
    engine = BrokenEngine("fake-model", context_length=256, slots=1, max_queue=4)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as test_client:
        yield test_client


def chat(client: TestClient, text: str = "hi"):
    return client.post(CHAT, json={"model": "fake-model",
                                   "messages": [{"role": "user", "content": text}]})


def count(client: TestClient, status: str, route: str | None = CHAT) -> float:
    """Responses counted with this status (on this route; None: on any)."""
    families = text_string_to_metric_families(client.get("/metrics").text)
    return sum(s.value for family in families for s in family.samples
               if s.name == "hearth_requests_total" and s.labels.get("status") == status
               and route in (None, s.labels.get("route")))


def test_an_unexpected_failure_is_an_openai_shaped_500_and_is_counted(
        client: TestClient) -> None:
    response = chat(client)
    assert response.status_code == 500
    assert response.json() == {"error": {
        "message": "Internal server error; see the server log.", "type": "server_error",
        "param": None, "code": None}}
    assert count(client, "500") == 1


def test_a_body_over_the_limit_is_refused_before_the_route(client: TestClient) -> None:
    response = chat(client, "x" * 2000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert count(client, "413", route=None) == 1  # refused before any route is matched
