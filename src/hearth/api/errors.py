"""Every error leaves the API in OpenAI's shape: ``{"error": {message, type, param, code}}``.

One place maps hearth's exceptions, FastAPI's validation errors and unexpected failures, so
route functions never build error responses themselves.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hearth.errors import HearthError, Overloaded, RateLimited

log = logging.getLogger(__name__)

METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


class ErrorObject(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    """OpenAI's error shape, as the OpenAPI document describes every error answer; answers
    are built by ``error_body`` (a plain dict: the chat route answers errors at gateway
    rates)."""

    error: ErrorObject


def error_body(message: str, type_: str, param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def hearth_error_response(exc: HearthError) -> JSONResponse:
    headers = {}
    if isinstance(exc, (RateLimited, Overloaded)):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(
        error_body(exc.message, exc.type, exc.param, exc.code), status_code=exc.status,
        headers=headers,
    )


def _describe(errors: list[dict]) -> tuple[str, str | None]:
    """Turn pydantic's error list into one readable sentence and the offending parameter."""
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        detail = str((first.get("ctx") or {}).get("error", "")).removeprefix("Invalid JSON: ")
        return f"The request body is not valid JSON{f': {detail}' if detail else ''}.", None
    where = f" (at '{param}')" if param else ""
    more = f"; and {len(errors) - 1} more problem(s)" if len(errors) > 1 else ""
    return f"Invalid request{where}: {first.get('msg', 'invalid value')}{more}.", param


def validation_error_response(errors: list[dict]) -> JSONResponse:
    """A request body that failed pydantic's validation: 400, naming the first problem."""
    message, param = _describe(errors)
    return JSONResponse(error_body(message, "invalid_request_error", param, "invalid_request"),
                        status_code=400)


def unexpected_error_response() -> JSONResponse:
    """A failure no handler expected: logged here with its traceback, a 500 to the client."""
    log.exception("unhandled error")
    return JSONResponse(error_body("Internal server error; see the server log.",
                                   "server_error"), status_code=500)


def allowed_methods(app: FastAPI, request: Request) -> str:
    """Every method some route answers at the request's path, for a 405's ``Allow``: Starlette
    names only those of the first route on the path, and a path's methods are often several
    routes (``GET`` and ``DELETE /v1/memories/{id}``)."""
    return ", ".join(method for method in METHODS if any(
        route.matches({**request.scope, "method": method})[0] == Match.FULL
        for route in app.router.routes))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HearthError)
    async def _hearth(_: Request, exc: HearthError) -> JSONResponse:
        return hearth_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(app, request)
        return JSONResponse(error_body(str(exc.detail), kind), status_code=exc.status_code,
                            headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response()
