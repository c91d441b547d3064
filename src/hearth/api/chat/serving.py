"""Turn a validated chat request into OpenAI's response objects, whole or streamed (SSE)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.responses import Response

from hearth.api.chat.protocol import ChatCompletionRequest
from hearth.api.errors import error_body
from hearth.api.generation import Generation, Turn
from hearth.api.json_response import FastJSONResponse
from hearth.api.metering import RequestMeter
from hearth.engines.base import ChatRequest, Delta, ToolCall
from hearth.errors import HearthError, InvalidRequest
from hearth.governance.gate import Pass


def to_engine_request(body: ChatCompletionRequest, priority: int = 0) -> ChatRequest:
    try:
        messages = [m.as_dict() for m in body.messages]
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="messages") from None
    fmt = body.response_format
    return ChatRequest(
        messages=messages,
        max_tokens=body.token_limit,
        temperature=body.temperature,
        top_p=body.top_p,
        seed=body.seed,
        frequency_penalty=body.frequency_penalty,
        presence_penalty=body.presence_penalty,
        stop=list(body.stop or []),
        response_format=fmt.model_dump(by_alias=True) if fmt and fmt.type != "text" else None,
        tools=[t.model_dump(exclude_none=True) for t in body.tools] if body.tools else None,
        tool_choice=(body.tool_choice.model_dump() if isinstance(body.tool_choice, BaseModel)
                     else body.tool_choice),
        priority=priority,
        stream=body.stream,
        reasoning_effort=body.reasoning_effort,
    )


def _tool_calls_json(calls: list[ToolCall], with_index: bool = False) -> list[dict[str, Any]]:
    out = []
    for i, call in enumerate(calls):
        item: dict[str, Any] = {"id": call.id, "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments}}
        if with_index:
            item["index"] = i
        out.append(item)
    return out


def _reasoning(text: str) -> dict[str, str]:
    """Reasoning under both names clients read: ``reasoning`` and the older
    ``reasoning_content``."""
    return {"reasoning": text, "reasoning_content": text}


def _usage(delta: Delta) -> dict[str, Any]:
    return {"prompt_tokens": delta.prompt_tokens, "completion_tokens": delta.completion_tokens,
            "total_tokens": delta.prompt_tokens + delta.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": delta.cached_tokens}}


class ChatServing:
    """The logic behind ``POST /v1/chat/completions``; the router only hands requests in."""

    def __init__(self, generation: Generation):
        self.generation = generation

    async def create(self, body: ChatCompletionRequest, request: Request,
                     admitted: Pass) -> Response:
        return await self.generation.metered(
            admitted, "chat.completions",
            lambda meter: self._create(body, request, admitted, meter))

    async def _create(self, body: ChatCompletionRequest, request: Request, admitted: Pass,
                      meter: RequestMeter) -> Response:
        served = await self.generation.check(body.model, admitted, body.token_limit,
                                             "max_tokens")
        engine_request = to_engine_request(body, admitted.principal.priority)
        turn = self.generation.start(served, engine_request, request, admitted, meter,
                                     user=body.user, metadata=body.metadata)
        completion_id = f"chatcmpl-{secrets.token_hex(16)}"  # uuid4 costs 4x
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            first = await self.generation.first(turn)  # errors here -> 4xx
            return StreamingResponse(
                self._sse(first, turn, completion_id, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return await self.generation.unless_client_leaves(
            request, meter, self._whole(turn, completion_id))

    async def _whole(self, turn: Turn, completion_id: str) -> FastJSONResponse:
        last = await self.generation.first(turn)
        parts, thoughts = [last.content], [last.reasoning]
        async for delta in turn.deltas:
            parts.append(delta.content)
            thoughts.append(delta.reasoning)
            last = delta
        await self.generation.finished(turn, last)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(parts) or None}
        if reasoning := "".join(thoughts):
            message.update(_reasoning(reasoning))
        if last.tool_calls:
            message["tool_calls"] = _tool_calls_json(last.tool_calls)
        return FastJSONResponse({
            "id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": turn.model,
            "choices": [{"index": 0, "message": message, "finish_reason": last.finish_reason,
                         "logprobs": None}],
            "usage": _usage(last),
        })

    async def _sse(self, first: Delta, turn: Turn, completion_id: str,
                   include_usage: bool) -> AsyncIterator[str]:
        created = int(time.time())

        def chunk(delta_obj: dict[str, Any], finish: str | None, usage=None) -> str:
            payload = {"id": completion_id, "object": "chat.completion.chunk",
                       "created": created, "model": turn.model,
                       "choices": [{"index": 0, "delta": delta_obj, "finish_reason": finish,
                                    "logprobs": None}]}
            if include_usage:
                payload["usage"] = usage
            return f"data: {json.dumps(payload)}\n\n"

        try:
            yield chunk({"role": "assistant", "content": ""}, None)
            delta = first
            while True:
                if delta.reasoning:
                    yield chunk(_reasoning(delta.reasoning), None)
                if delta.content:
                    yield chunk({"content": delta.content}, None)
                if delta.finish_reason is not None:
                    if delta.tool_calls:
                        yield chunk({"tool_calls": _tool_calls_json(delta.tool_calls, True)}, None)
                    yield chunk({}, delta.finish_reason)
                    await self.generation.finished(turn, delta)
                    if include_usage:
                        usage_chunk = {"id": completion_id, "object": "chat.completion.chunk",
                                       "created": created, "model": turn.model,
                                       "choices": [], "usage": _usage(delta)}
                        yield f"data: {json.dumps(usage_chunk)}\n\n"
                    break
                delta = await anext(turn.deltas)
            yield "data: [DONE]\n\n"
        except HearthError as exc:
            await turn.meter.settle(exc.status)
            yield f"data: {json.dumps(error_body(exc.message, exc.type, exc.param, exc.code))}\n\n"
        finally:
            await turn.deltas.aclose()
            await turn.meter.settle(499)  # the client left mid-stream (no-op once settled)
