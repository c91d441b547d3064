"""Who is looking at a page: resolved through the same gate as every API request.

A page needs no key of its own: the session cookie (or, on a fresh install with no keys, no
credential at all, as the API allows) is checked by ``hearth.api.auth.credential`` and the
gate, so a page can never show more than its viewer's API calls would return.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from hearth.api.auth import credential, session_secret
from hearth.governance import sessions
from hearth.governance.gate_writer import GateWriter
from hearth.governance.principal import Principal


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str  # sent back by the page's scripts in X-CSRF-Token; "" without a session

    @property
    def signed_in(self) -> bool:
        """False on an open install, where nobody needs to sign in (or can sign out)."""
        return bool(self.csrf)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.principal.scopes


async def viewer_of(request: Request) -> Viewer:
    """The page's viewer; raises Unauthorized (sign in) or Forbidden (another site's page)."""
    gate: GateWriter = request.app.state.gate
    admitted = await gate.admit(credential(request), scope=None)
    secret = session_secret(request)
    return Viewer(admitted.principal, sessions.csrf_token(secret) if secret else "")
