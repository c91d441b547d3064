"""``/signin`` and ``/signout``: trade an API key, or a user's password, for a session
cookie, and end it.

The key or password is typed once and never kept by the browser: it gets a random session id in an
``HttpOnly`` (no script can read it), ``SameSite=Strict`` (no other site's page can send it)
cookie, ``Secure`` unless ``HEARTH_COOKIE_SECURE=false`` for a plain-HTTP install on a LAN.
Both forms are refused from another site's page, and sign-out needs the CSRF token too.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hearth.api.auth import SESSION_COOKIE, same_site, session_secret
from hearth.errors import HearthError
from hearth.governance import sessions
from hearth.governance.gate_writer import GateWriter
from hearth.web.render import SECURITY_HEADERS, page

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {name: values[0] for name, values in fields.items()}


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return page(request, "signin.html", title="Sign in")


@router.post("/signin")
async def signin(request: Request) -> Response:
    if not same_site(request):
        return page(request, "signin.html", 403, title="Sign in",
                    error="This sign-in came from another site's page.")
    form = await _form(request)
    try:
        secret = await (_with_password(request, form) if form.get("with") == "password"
                        else _with_key(request, form))
    except HearthError as exc:
        return page(request, "signin.html", 401, title="Sign in", error=exc.message,
                    org=form.get("org", ""), user=form.get("user", ""))
    response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
    if secret is None:  # no keys exist: the install is open anyway
        return response
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(sessions.LIFETIME.total_seconds()),
                        httponly=True, samesite="strict", path="/",
                        secure=request.app.state.settings.cookie_secure)
    return response


async def _with_key(request: Request, form: dict[str, str]) -> str | None:
    """A session for the key typed in; None on an open install (no keys yet)."""
    key = form.get("api_key", "").strip()
    if not key:
        raise HearthError("Enter your API key.")
    gate: GateWriter = request.app.state.gate
    admitted = await gate.admit(key, scope=None)
    if admitted.principal.key_id is None:
        return None
    return await run_in_threadpool(sessions.start, request.app.state.db, admitted.principal)


async def _with_password(request: Request, form: dict[str, str]) -> str:
    org, user, password = (form.get(name, "").strip() for name in ("org", "user", "password"))
    if not (org and user and password):
        raise HearthError("Enter your organisation, user name and password.")
    return await run_in_threadpool(sessions.start_with_password, request.app.state.db, org,
                                   user, form["password"])  # as typed: spaces count


@router.post("/signout")
async def signout(request: Request) -> Response:
    secret = session_secret(request)
    response = RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
    if secret is None:
        return response
    if not same_site(request) or \
            not sessions.csrf_matches(secret, (await _form(request)).get("csrf")):
        return page(request, "error.html", 403, title="Refused",
                    message="This sign-out did not come from this site's page; reload it.")
    gate: GateWriter = request.app.state.gate
    try:
        admitted = await gate.admit(secret, scope=None)
    except HearthError:
        pass  # the session had ended already
    else:
        await run_in_threadpool(sessions.end, request.app.state.db, secret, admitted.principal)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
