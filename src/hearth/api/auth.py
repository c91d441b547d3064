"""Authorisation in one place: every route declares what it needs, this module decides.

A request's bearer key is resolved, scope-checked and held to its plan's limits by
``hearth.governance.gate`` (batched with other requests' by the process's ``GateWriter``);
routes receive the resulting ``Pass`` (or the ``Owner`` whose data they may reach) and
never look at keys themselves. The one route outside FastAPI's dependencies, chat
completions (``hearth.api.chat.route``), admits through the same gate with ``credential``.

A browser signed in to the web app sends its session cookie instead of a key. A cookie goes
with every request to this host, whoever's page makes it, so a request carrying one must come
from this site's own pages (``Sec-Fetch-Site``, or else ``Origin``) and, unless it only reads,
carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hearth.errors import Forbidden, InvalidRequest
from hearth.governance import sessions
from hearth.governance.gate import Pass
from hearth.governance.gate_writer import GateWriter
from hearth.store.owner import Owner


def bearer(request: Request) -> str | None:
    """The bearer key, if any. Two different ``Authorization`` headers are refused rather
    than one of them chosen: whichever the server picked, a proxy or log in front of it may
    have judged the request by the other."""
    sent = set(request.headers.getlist("authorization"))
    if len(sent) > 1:
        raise InvalidRequest("The request has more than one Authorization header; send one.",
                             param="Authorization", code="conflicting_credentials")
    scheme, _, token = (sent.pop() if sent else "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


SESSION_COOKIE = "hearth_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_site(request: Request) -> bool:
    """Whether the browser says this request comes from this site's own pages (or was typed
    into its address bar). Clients that are not browsers send neither header."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host')}"


def session_secret(request: Request) -> str | None:
    """The session cookie's secret, or None when the request carries none."""
    secret = request.cookies.get(SESSION_COOKIE)
    return secret if secret and sessions.is_session(secret) else None


def credential(request: Request) -> str | None:
    """What the gate resolves the caller from: the bearer key, else the session cookie
    (refused when another site's page sent it, or a change lacks the CSRF token)."""
    token = bearer(request)
    if token is not None:
        return token
    secret = session_secret(request)
    if secret is None:
        return None
    if not same_site(request):
        raise Forbidden("This request came from another site's page.", code="cross_site")
    if request.method not in SAFE_METHODS and \
            not sessions.csrf_matches(secret, request.headers.get("x-csrf-token")):
        raise Forbidden("The page's CSRF token is missing or stale; reload the page.",
                        code="csrf_token_invalid")
    return secret


def named_user(request: Request) -> str | None:
    """The end user a request speaks for (``X-Hearth-User``), when the client names one."""
    return (request.headers.get("x-hearth-user") or "").strip() or None


# What the OpenAPI document says a route behind the gate needs; ``bearer`` reads the key.
bearer_key = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                        description="An API key (`hearth admin key create`).")
DeclaredKey = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_key)]


def authorised(scope: str | None) -> Callable[..., Awaitable[Pass]]:
    """A dependency admitting requests whose key holds ``scope`` (None: any valid key).
    Requests that generate are admitted by their route (``hearth.api.chat.route``)."""
    async def dependency(request: Request, _: DeclaredKey) -> Pass:
        gate: GateWriter = request.app.state.gate
        return await gate.admit(credential(request), scope=scope)

    dependency.__name__ = f"authorised_{(scope or 'any').replace(':', '_')}"
    return dependency


any_key = authorised(None)
chat_key = authorised("chat")
memory_reader = authorised("memory:read")
memory_writer = authorised("memory:write")
admin_key = authorised("admin")


def _owner(request: Request, admitted: Pass) -> Owner:
    return admitted.principal.owner_for(named_user(request))


async def chat_owner(request: Request, admitted: Annotated[Pass, Depends(chat_key)]) -> Owner:
    return _owner(request, admitted)


async def reading_owner(request: Request,
                        admitted: Annotated[Pass, Depends(memory_reader)]) -> Owner:
    return _owner(request, admitted)


async def writing_owner(request: Request,
                        admitted: Annotated[Pass, Depends(memory_writer)]) -> Owner:
    return _owner(request, admitted)


async def fine_tuner(admitted: Annotated[Pass, Depends(chat_key)]) -> Pass:
    """A caller that may upload training data and start fine-tuning jobs: its plan includes
    fine-tuning and its role may change things."""
    admitted.principal.require_fine_tuning()
    return admitted


async def fine_tuning_editor(admitted: Annotated[Pass, Depends(chat_key)]) -> Pass:
    """A caller that may cancel its org's jobs and delete its files (whatever its plan)."""
    admitted.principal.require_fine_tuning(starting=False)
    return admitted
