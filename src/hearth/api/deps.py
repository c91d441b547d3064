"""Request dependencies: who is calling, and whether they may call now.

For a single-user install this is an optional shared API key (``HEARTH_API_KEY``) and an
optional per-client rate limit; the governance layer replaces both with real keys and
quotas. Either way, routes only declare the dependency; they never check keys themselves.
"""

from __future__ import annotations

import hmac
import time
from collections import deque

from fastapi import Request

from hearth.errors import InvalidRequest, RateLimited, Unauthorized

MAX_USER_LENGTH = 64  # the width of user_id in the store


class SlidingWindowLimiter:
    """At most ``per_minute`` calls per client in any 60-second window (one process)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        now = time.monotonic()
        calls = self._calls.setdefault(client, deque())
        while calls and now - calls[0] >= 60:
            calls.popleft()
        if len(calls) >= self.per_minute:
            raise RateLimited(
                f"Rate limit of {self.per_minute} requests per minute reached; retry later.",
                retry_after=max(1, int(60 - (now - calls[0])) + 1),
            )
        calls.append(now)


def end_user(request: Request) -> str | None:
    """The end user a request speaks for (``X-Hearth-User``), when the client names one.

    Until organisations and keys land, everyone is in the "local" org and this header picks
    whose conversations and memories a request sees.
    """
    user = (request.headers.get("x-hearth-user") or "").strip()
    if len(user) > MAX_USER_LENGTH:
        raise InvalidRequest(f"X-Hearth-User is longer than {MAX_USER_LENGTH} characters.",
                             param="X-Hearth-User")
    return user or None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authorise(request: Request) -> str:
    """Check the API key (when one is configured) and the rate limit; return the client id."""
    settings = request.app.state.settings
    token = _bearer(request)
    if settings.api_key:
        if token is None:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
        if not hmac.compare_digest(token.encode(), settings.api_key.encode()):
            raise Unauthorized("Invalid API key.")
    # Without a configured key, tokens are unchecked and free to vary: count by address.
    host = request.client.host if request.client else "unknown"
    client = token if settings.api_key else host
    limiter: SlidingWindowLimiter | None = request.app.state.limiter
    if limiter is not None:
        limiter.check(client)
    return client
