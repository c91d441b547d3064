"""Every JSON request body is parsed in one place, by pydantic-core's parser.

The chat route validates its body with ``model_validate_json`` (pydantic-core); FastAPI's
other routes would parse theirs with the standard library's ``json``, which accepts text no
UTF-8 encoder can write (a lone surrogate such as ``"\\ud800"``) and lets it travel on until
the database or the tokenizer fails with a 500. Routes built with ``JSONBodyRoute`` parse with
pydantic-core too, so every route refuses such text alike, as invalid JSON (400), before any
handler runs; and ``NaN`` or ``Infinity``, which JSON does not have, are refused with it.
A body sent as another media type (``text/plain``) is refused with 415 on every route too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic_core import from_json
from starlette.datastructures import Headers

from hearth.errors import UnsupportedMediaType


def parse_json(body: bytes) -> Any:
    """The body as JSON; ``json.JSONDecodeError`` (which FastAPI answers as a 400) if it is not
    JSON or holds text that cannot be encoded."""
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from None


def require_json(headers: Headers, body: bytes) -> None:
    """Refuse a body declared as anything but JSON; one without a ``Content-Type`` is read as
    JSON, as OpenAI's SDKs and FastAPI do."""
    declared = headers.get("content-type")
    if not body or declared is None:
        return
    media = declared.partition(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"The request body is sent as {media!r}; send it as JSON "
                                   "(Content-Type: application/json).")


class JSONBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JSONBodyRoute(APIRoute):
    """An ``APIRoute`` whose handler reads its JSON body through ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            request = JSONBodyRequest(request.scope, request.receive)
            require_json(request.headers, await request.body())
            return await handler(request)

        return route_handler
