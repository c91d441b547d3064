"""A FastAPI app that answers one path before FastAPI's own layers: the gateway's route.

Every request to a FastAPI app passes its telemetry check, Starlette's error middleware, its
exception-telemetry and body-limit wrappers, then the app's own middleware, each a layer of
calls (and of wrapped ``send`` functions) on the way in and out. For the one route a
gateway lives on, that is a noticeable part of what it adds to each request, so this app
hands that path to an ASGI app of its own, built with what the route must keep from those
layers (hearth's metrics and body limit; OpenAI-shaped 500s are the route's own), and
passes every other request to FastAPI unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class AppWithHotRoute(FastAPI):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.hot_path: str | None = None
        self.hot_app: ASGIApp | None = None

    def serve_ahead(self, path: str, app: ASGIApp) -> None:
        """Answer HTTP requests to exactly ``path`` with ``app``, ahead of FastAPI."""
        self.hot_path, self.hot_app = path, app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.hot_path:
            scope["app"] = self  # as Starlette sets it, for request.app
            await self.hot_app(scope, receive, send)  # type: ignore[misc]
            return
        await super().__call__(scope, receive, send)
