"""``GET /v1/conversations`` and ``GET /v1/conversations/{conversation_id}``.

Thin routes: the store does the work (in a worker thread, because SQLAlchemy here is
synchronous and must not block the event loop) and decides who sees what.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from hearth.api.auth import chat_owner
from hearth.api.conversations.protocol import (
    ConversationList,
    ConversationObject,
    ConversationSummary,
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
) -> ConversationList:
    views = await run_in_threadpool(
        conversations.list_conversations, db, limit=limit,
        org_id=owner.org_id, user_id=owner.user_id,
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
