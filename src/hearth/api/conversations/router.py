"""``/v1/conversations``: list (and search by title), read, rename, cut short and delete.

Thin routes: the store does the work (in a worker thread, because SQLAlchemy here is
synchronous and must not block the event loop) and decides who sees what.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from hearth.api.auth import chat_owner
from hearth.api.conversations.protocol import (
    ConversationList,
    ConversationObject,
    ConversationSummary,
    RenameConversation,
)
from hearth.api.json_body import JSONBodyRoute
from hearth.api.openapi import errors
from hearth.store import conversations
from hearth.store.db import Database
from hearth.store.owner import Owner

router = APIRouter(route_class=JSONBodyRoute)

def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@router.get("/v1/conversations", response_model=ConversationList)
async def list_conversations(
    db: Annotated[Database, Depends(database)],
    owner: Annotated[Owner, Depends(chat_owner)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    q: Annotated[str | None, Query(max_length=200, description="Text in the title.")] = None,
) -> ConversationList:
    views = await run_in_threadpool(
        conversations.list_conversations, db, limit=limit,
        org_id=owner.org_id, user_id=owner.user_id, title_contains=q,
    )
    return ConversationList(data=[ConversationSummary.from_view(view) for view in views])


@router.get("/v1/conversations/{conversation_id}", response_model=ConversationObject,
            responses=errors(404))
async def get_conversation(
    conversation_id: str,
    db: Annotated[Database, Depends(database)],
    owner: Annotated[Owner, Depends(chat_owner)],
) -> ConversationObject:
    view = await run_in_threadpool(
        conversations.get_conversation, db, conversation_id,
        org_id=owner.org_id, user_id=owner.user_id,
    )
    return ConversationObject.from_view(view)


@router.patch("/v1/conversations/{conversation_id}", response_model=ConversationSummary,
              responses=errors(404))
async def rename_conversation(
    conversation_id: str, body: RenameConversation,
    db: Annotated[Database, Depends(database)],
    owner: Annotated[Owner, Depends(chat_owner)],
) -> ConversationSummary:
    view = await run_in_threadpool(
        conversations.rename_conversation, db, conversation_id, body.title,
        org_id=owner.org_id, user_id=owner.user_id,
    )
    return ConversationSummary.from_view(view)


@router.delete("/v1/conversations/{conversation_id}", status_code=204, responses=errors(404))
async def delete_conversation(
    conversation_id: str,
    db: Annotated[Database, Depends(database)],
    owner: Annotated[Owner, Depends(chat_owner)],
) -> Response:
    await run_in_threadpool(
        conversations.delete_conversation, db, conversation_id,
        org_id=owner.org_id, user_id=owner.user_id,
    )
    return Response(status_code=204)


@router.delete("/v1/conversations/{conversation_id}/messages", status_code=204,
               responses=errors(404))
async def truncate_conversation(
    conversation_id: str,
    db: Annotated[Database, Depends(database)],
    owner: Annotated[Owner, Depends(chat_owner)],
    keep: Annotated[int, Query(ge=0, description="How many of the first messages stay.")],
) -> Response:
    """Delete the messages after the first ``keep``: before regenerating a reply or
    resending an edited message, so the conversation holds only the new version."""
    await run_in_threadpool(
        conversations.truncate, db, conversation_id, keep,
        org_id=owner.org_id, user_id=owner.user_id,
    )
    return Response(status_code=204)
