"""``POST /v1/chat/completions``, served ahead of FastAPI (``hearth.api.hot_route``).

This is the route a gateway lives on, so it skips what FastAPI would add around it: its
outer middleware, route matching over every other path, solving dependencies, and
validating the body through FastAPI's layers. It does by hand what those would do (admit
the key through the gate, validate the body with pydantic, answer errors in OpenAI's shape,
unexpected ones included) and hands the request to ``ChatServing`` like any route. The app
wraps it in the body-limit and metrics middlewares, so those apply to it as to every route.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from hearth.api.auth import credential
from hearth.api.chat.protocol import ChatCompletion, ChatCompletionRequest
from hearth.api.chat.serving import ChatServing
from hearth.api.errors import (
    error_body,
    hearth_error_response,
    unexpected_error_response,
    validation_error_response,
)
from hearth.api.json_body import require_json
from hearth.api.openapi import served_ahead_operation
from hearth.errors import HearthError
from hearth.governance.gate_writer import GateWriter


async def _body(receive: Receive) -> bytes:
    """The request body, read as ``Request.body`` reads it but without its async generator
    (a noticeable part of a short request's cost); ClientDisconnect if the client left."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


class ChatCompletionsRoute:
    """The ASGI app answering HTTP requests to its one path."""

    path = "/v1/chat/completions"  # read, like a Starlette route's, by the metrics middleware

    def __init__(self, chat: ChatServing, gate: GateWriter):
        self.chat = chat
        self.gate = gate

    def openapi(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """This route's path item for the OpenAPI document, and the schemas it refers to."""
        operation, schemas = served_ahead_operation(
            summary="Create Chat Completion", request=ChatCompletionRequest,
            response=ChatCompletion,
            description="A chat.completion object; with stream, server-sent events: "
                        "chat.completion.chunk objects, then `data: [DONE]`.",
            other_content={"text/event-stream": {"schema": {"type": "string"}}},
            statuses={404, 502, 503})
        return {self.path: {"post": operation}}, schemas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        if scope["method"] != "POST":
            response = JSONResponse(error_body("Method Not Allowed", "invalid_request_error"),
                                    status_code=405, headers={"Allow": "POST"})
        else:
            try:
                response = await self._answer(Request(scope, receive))
            except Exception:
                # What Starlette's error middleware does for other routes: a 500 in OpenAI's
                # shape, then the error goes on up to the server (which logs it too).
                await unexpected_error_response()(scope, receive, send)
                raise
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        try:
            admitted = await self.gate.admit(credential(request), scope="chat",
                                             generates=True)
            try:
                raw = await _body(request.receive)
                require_json(request.headers, raw)
                body = ChatCompletionRequest.model_validate_json(raw)
            except BaseException:  # never run: its stream lease goes back at once
                await self.gate.release(admitted)
                raise
        except HearthError as exc:
            return hearth_error_response(exc)
        except ValidationError as exc:
            return validation_error_response(exc.errors())
        try:
            return await self.chat.create(body, request, admitted)
        except HearthError as exc:
            return hearth_error_response(exc)
