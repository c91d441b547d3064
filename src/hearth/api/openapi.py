"""The OpenAPI document (``/openapi.json``), true to what the server answers.

FastAPI documents what a route's signature shows: its response model, its parameters, the
API key it needs (the ``bearer_key`` security scheme of ``hearth.api.auth``) and a 422 for
any input. hearth answers bad input with 400 in OpenAI's error shape (``hearth.api.errors``),
and answers errors no signature shows; they are added to the document here, read off each
operation, in one pass:

- every operation can fail unexpectedly (500), and one with any input can be refused (400);
- one that needs a key answers 401, 403 and 429 (and 400 for two ``Authorization`` headers);
- one with a body answers 413 (too large) and 415 (not JSON);
- what only a route knows (404, 409, 502, 503) it declares itself with ``errors``.

FastAPI's 422 and its validation-error schemas go: no route answers them. The chat route is
served ahead of FastAPI (``hearth.api.hot_route``), where FastAPI never sees it, so its
operation is built from its own pydantic models (``served_ahead_operation``) and joins the
document before that pass.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hearth.api.auth import bearer_key
from hearth.api.errors import ErrorBody

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = bearer_key.scheme_name
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer"}}}

DESCRIPTIONS = {
    400: "Invalid request: a body field, parameter or header is wrong; `param` names it.",
    401: "No API key, or one that is unknown, revoked or expired.",
    403: "The key's scopes or its user's role do not allow this.",
    404: "Not found, or not the caller's.",
    409: "It exists already.",
    413: "The request body is larger than this server accepts.",
    415: "The request body is not JSON.",
    429: "A rate limit, token quota or concurrency limit is reached.",
    500: "An unexpected failure; the server log says more.",
    502: "The upstream engine failed to answer.",
    503: "The engine's queue is full.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error statuses a route answers, in OpenAI's error shape."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status],
                     **({"headers": RETRY_AFTER} if status in (429, 503) else {})}
            for status in statuses}


def _error_objects(statuses: set[int]) -> dict[str, dict[str, Any]]:
    """``errors`` as the document writes them."""
    schema = {"$ref": REF.format(model=ErrorBody.__name__)}
    return {str(status): {key: value for key, value in entry.items() if key != "model"}
            | {"content": {"application/json": {"schema": schema}}}
            for status, entry in errors(*sorted(statuses)).items()}


def _answered_by_every_route_like(operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation answers for what it is (see the module docstring)."""
    statuses = {500}
    if operation.get("parameters") or operation.get("requestBody") or operation.get("security"):
        statuses.add(400)
    if operation.get("security"):
        statuses |= {401, 403, 429}
    if operation.get("requestBody"):
        statuses |= {413, 415}
    return statuses


def _schemas(*models: tuple[type[BaseModel], str]) -> dict[str, Any]:
    """Components for pydantic models, as FastAPI names them."""
    _, schemas = models_json_schema(list(models), ref_template=REF)  # type: ignore[arg-type]
    return schemas.get("$defs", {})


def served_ahead_operation(*, summary: str, request: type[BaseModel],
                           response: type[BaseModel], description: str,
                           other_content: dict[str, Any],
                           statuses: set[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An operation (and the schemas it refers to) for a route FastAPI does not serve: a JSON
    body ``request`` that needs an API key, a 200 of ``response`` or of ``other_content``
    media types, and the errors ``statuses`` only it knows of."""
    operation = {
        "summary": summary,
        "operationId": summary.lower().replace(" ", "_"),
        "security": [{SECURITY_SCHEME: []}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=request.__name__)}}}},
        "responses": {
            "200": {"description": description, "content": {
                "application/json": {"schema": {"$ref": REF.format(model=response.__name__)}},
                **other_content}},
            **_error_objects(statuses),
        },
    }
    return operation, _schemas((request, "validation"), (response, "serialization"))


def install_openapi(app: FastAPI, served_ahead: dict[str, dict[str, Any]],
                    schemas: dict[str, Any]) -> None:
    """Make ``app.openapi()`` the true document.

    ``served_ahead`` holds path items (``{path: {method: operation}}``) of routes served
    outside FastAPI, ``schemas`` the components they refer to.
    """

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            doc["paths"].update(served_ahead)
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            components.update(schemas)
            components.update(_schemas((ErrorBody, "serialization")))
            for item in doc["paths"].values():
                for operation in item.values():
                    responses = operation["responses"]
                    responses.pop("422", None)
                    for status, entry in _error_objects(
                            _answered_by_every_route_like(operation)).items():
                        responses.setdefault(status, entry)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
