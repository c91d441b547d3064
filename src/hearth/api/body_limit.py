"""Refuse request bodies over a size limit with 413, before they are parsed.

A declared Content-Length is checked up front; a chunked body is read (up to the limit)
and replayed to the app, so an oversized one never reaches the JSON parser. Uploads (a
training file to ``/v1/files``) are held to a limit of their own, ``upload_paths``.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.api.errors import error_body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int,
                 upload_paths: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_paths.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await self._refuse(scope, receive, send, limit)
            else:
                await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away before sending its body
            body += message.get("body", b"")
            if len(body) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = JSONResponse(
            error_body(f"Request body is larger than the limit of {limit} bytes.",
                       "invalid_request_error", code="payload_too_large"),
            status_code=413,
        )
        await response(scope, receive, send)
