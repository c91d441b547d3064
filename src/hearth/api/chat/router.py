"""``POST /v1/chat/completions``."""

from fastapi import APIRouter, Depends, Request

from hearth.api.chat.protocol import ChatCompletionRequest
from hearth.api.deps import authorise

router = APIRouter()


@router.post("/v1/chat/completions", dependencies=[Depends(authorise)])
async def create_chat_completion(body: ChatCompletionRequest, request: Request):
    return await request.app.state.chat.create(body, request)
