"""``POST /v1/chat/completions``."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hearth.api.auth import chat_generation
from hearth.api.chat.protocol import ChatCompletionRequest
from hearth.governance.gate import Pass

router = APIRouter()


@router.post("/v1/chat/completions")
async def create_chat_completion(body: ChatCompletionRequest, request: Request,
                                 admitted: Annotated[Pass, Depends(chat_generation)]):
    return await request.app.state.chat.create(body, request, admitted)
