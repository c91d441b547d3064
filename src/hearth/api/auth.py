"""Authorisation in one place: every route declares what it needs, this module decides.

A request's bearer key is resolved, scope-checked and held to its plan's limits by
``hearth.governance.gate`` (batched with other requests' by the process's ``GateWriter``);
routes receive the resulting ``Pass`` (or the ``Owner`` whose data they may reach) and
never look at keys themselves. The one route outside FastAPI's dependencies, chat
completions (``hearth.api.chat.route``), admits through the same gate with ``bearer``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hearth.errors import InvalidRequest
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
        return await gate.admit(bearer(request), scope=scope)

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
