"""The OpenAPI document describes the API as the server answers it: every route (the chat
route served ahead of FastAPI too), its errors in OpenAI's shape, its media types and the
limits it enforces. (``test_api_conformance_fake`` checks live answers against it.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hearth.api.app import create_app
from hearth.config import Settings
from hearth.governance.roles import SCOPES, Role
from hearth.store.bounds import MAX_DAYS
from hearth.store.memories import KINDS

ERROR = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None, engine="fake",
                        model="fake-model", memory=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """A property's schema, without the null of an optional one."""
    found = schema["properties"][name]
    return next((s for s in found.get("anyOf", [found]) if s.get("type") != "null"), found)


def test_every_route_is_documented_the_chat_route_too(client: TestClient,
                                                      document: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in operations(document)}
    assert ("POST", "/v1/chat/completions") in documented
    for method, path in documented:  # each is served (a 405 lists what a path answers)
        concrete = path.replace("{memory_id}", "1").replace("{", "").replace("}", "")
        assert method in client.request("TRACE", concrete).headers["allow"], (method, path)
    served = {path for path in document["paths"]}
    assert served >= {"/healthz", "/metrics", "/v1/models", "/v1/embeddings",
                      "/v1/conversations", "/v1/memories", "/admin/v1/orgs"}


def test_errors_are_documented_in_openai_shape_and_never_as_422(
        document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        answers = operation["responses"]
        assert "422" not in answers, (method, path)
        for status in (s for s in answers if s.startswith(("4", "5"))):
            assert answers[status]["content"] == {"application/json": {"schema": ERROR}}, \
                (method, path, status)
        assert "500" in answers
        if operation.get("requestBody"):
            assert {"400", "413", "415"} <= set(answers), (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize(("method", "path", "statuses"), [
    ("POST", "/v1/chat/completions", {"400", "401", "403", "404", "429", "502", "503"}),
    ("GET", "/v1/conversations/{conversation_id}", {"401", "403", "404"}),
    ("POST", "/admin/v1/orgs", {"400", "401", "403", "404", "409"}),
    ("POST", "/admin/v1/orgs/{org_id}/keys", {"404", "409"}),
    ("GET", "/v1/memories", {"401", "403", "404", "429"}),
])
def test_a_route_documents_the_errors_it_answers(document: dict[str, Any], method: str,
                                                 path: str, statuses: set[str]) -> None:
    assert statuses <= set(document["paths"][path][method.lower()]["responses"])


def test_routes_behind_keys_say_so_and_healthz_does_not(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for method, path, operation in operations(document):
        assert ("security" in operation) == (path != "/healthz"), (method, path)
        assert ("401" in operation["responses"]) == (path != "/healthz"), (method, path)


def test_the_chat_route_takes_its_request_and_answers_json_or_events(
        document: dict[str, Any]) -> None:
    chat = document["paths"]["/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChatCompletionRequest"}
    request = schema_of(document, "ChatCompletionRequest")
    assert {"model", "messages"} <= set(request["required"])
    assert set(chat["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    answer = schema_of(document, "ChatCompletion")
    assert answer["properties"]["object"]["const"] == "chat.completion"


def test_metrics_are_text_and_usage_is_json_or_csv(document: dict[str, Any]) -> None:
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(metrics) == {"text/plain"}
    usage = document["paths"]["/admin/v1/usage"]["get"]["responses"]["200"]["content"]
    assert set(usage) == {"application/json", "text/csv"}


def test_the_limits_the_server_enforces_are_in_the_schema(document: dict[str, Any]) -> None:
    assert field(schema_of(document, "CreateMemory"), "kind")["enum"] == list(KINDS)
    for name in ("CreateUser", "EditUser"):
        role = field(schema_of(document, name), "role")
        role = schema_of(document, role["$ref"].rsplit("/", 1)[1]) if "$ref" in role else role
        assert role["enum"] == [r.value for r in Role]
    key = schema_of(document, "CreateKey")
    assert field(key, "scopes")["items"]["enum"] == list(SCOPES)
    assert "future" in key["properties"]["expires_at"]["description"]
    for days in ("conversation_retention_days", "memory_retention_days"):
        retention = field(schema_of(document, "EditOrg"), days)
        assert (retention["minimum"], retention["maximum"]) == (1, MAX_DAYS)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/v1/models", "GET"),
    ("PUT", "/v1/memories/1", "DELETE, GET, PATCH"),
    ("GET", "/v1/chat/completions", "POST"),
])
def test_a_method_a_path_does_not_have_is_405_naming_those_it_has(
        client: TestClient, method: str, path: str, allowed: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == allowed.split(", ")
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
