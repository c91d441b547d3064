"""``POST /v1/responses``, and reading back or deleting stored responses by id.

Creating a response generates, so it is admitted as chat completions are (a stream lease
taken, given back at once if the body is not valid); reading and deleting need the chat
scope, and reach only the caller's own responses (another owner's id is a 404).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hearth.api.auth import chat_owner, credential
from hearth.api.errors import validation_error_response
from hearth.api.json_body import JSONBodyRoute
from hearth.api.openapi import errors, served_ahead_operation
from hearth.api.responses.protocol import ResponseObject, ResponsesRequest
from hearth.api.responses.serving import ResponsesServing
from hearth.governance.gate_writer import GateWriter
from hearth.store import responses
from hearth.store.db import Database
from hearth.store.owner import Owner

router = APIRouter(route_class=JSONBodyRoute, responses=errors(404))


def openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """``POST /v1/responses`` for the OpenAPI document, and the schemas it refers to: the route
    reads its body itself (after the key is admitted), so FastAPI cannot describe it."""
    operation, schemas = served_ahead_operation(
        summary="Create Response", request=ResponsesRequest, response=ResponseObject,
        description="A response object; with stream, server-sent events from response.created "
                    "to response.completed (or response.incomplete / response.failed).",
        other_content={"text/event-stream": {"schema": {"type": "string"}}},
        statuses={404, 502, 503})
    return {"/v1/responses": {"post": operation}}, schemas


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@router.post("/v1/responses", include_in_schema=False)
async def create_response(request: Request) -> Response:
    gate: GateWriter = request.app.state.gate
    admitted = await gate.admit(credential(request), scope="chat", generates=True)
    try:
        body = ResponsesRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        await gate.release(admitted)
        return validation_error_response(exc.errors())
    except BaseException:  # never run: its stream lease goes back at once
        await gate.release(admitted)
        raise
    serving: ResponsesServing = request.app.state.responses
    return await serving.create(body, request, admitted)


@router.get("/v1/responses/{response_id}")
async def get_response(response_id: str, request: Request,
                       owner: Annotated[Owner, Depends(chat_owner)]) -> dict[str, Any]:
    stored = await run_in_threadpool(responses.get_response, _db(request), owner, response_id)
    return stored.body


@router.get("/v1/responses/{response_id}/input_items")
async def list_input_items(
    response_id: str, request: Request, owner: Annotated[Owner, Depends(chat_owner)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> dict[str, Any]:
    """The items the response answered, its whole context, newest first unless ``order`` is
    asc; ``after`` is the id of the last item of the previous page."""
    stored = await run_in_threadpool(responses.get_response, _db(request), owner, response_id)
    ordered = stored.input_items if order == "asc" else stored.input_items[::-1]
    ids = [item["id"] for item in ordered]
    start = ids.index(after) + 1 if after in ids else 0
    page = ordered[start:start + limit]
    return {"object": "list", "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": start + limit < len(ordered)}


@router.delete("/v1/responses/{response_id}")
async def delete_response(response_id: str, request: Request,
                          owner: Annotated[Owner, Depends(chat_owner)]) -> dict[str, Any]:
    await run_in_threadpool(responses.delete_response, _db(request), owner, response_id)
    return {"id": response_id, "object": "response.deleted", "deleted": True}
