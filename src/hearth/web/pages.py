"""The pages: chat, one conversation, memory, usage and admin. Each is a shell that its
script fills from ``/v1`` (or ``/admin/v1``); the server checks who may see it first."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hearth.errors import Forbidden, HearthError, NotFound, Unauthorized
from hearth.store import conversations
from hearth.web.render import SECURITY_HEADERS, page
from hearth.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)


async def _show(request: Request, template: str, title: str, *, admin: bool = False,
                conversation_id: str | None = None) -> Response:
    """Render a page for its viewer: sign in first, and another user's id is a 404."""
    try:
        viewer = await viewer_of(request)
        if admin and not viewer.is_admin:
            raise Forbidden("Only owners and admins may open the admin pages.")
        if conversation_id is not None:
            owner = viewer.principal.owner_for(None)
            await run_in_threadpool(conversations.get_conversation, request.app.state.db,
                                    conversation_id, org_id=owner.org_id,
                                    user_id=owner.user_id)
    except Unauthorized:
        return RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
    except (Forbidden, NotFound) as exc:
        return page(request, "error.html", exc.status, title="Not here", message=exc.message)
    except HearthError as exc:
        return page(request, "error.html", exc.status, title="Error", message=exc.message)
    return page(request, template, title=title, viewer=viewer,
                model=request.app.state.engine.model_id, conversation_id=conversation_id)


@router.get("/")
async def chat(request: Request) -> Response:
    return await _show(request, "chat.html", "Chat")


@router.get("/c/{conversation_id}")
async def conversation(request: Request, conversation_id: str) -> Response:
    return await _show(request, "chat.html", "Chat", conversation_id=conversation_id)


@router.get("/memory")
async def memory(request: Request) -> Response:
    return await _show(request, "memory.html", "Memory")


@router.get("/usage")
async def usage(request: Request) -> Response:
    return await _show(request, "usage.html", "Usage")


@router.get("/admin")
async def admin(request: Request) -> Response:
    return await _show(request, "admin.html", "Admin", admin=True)
