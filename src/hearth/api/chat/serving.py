"""Turn a validated chat request into OpenAI's response objects, whole or streamed (SSE)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from hearth.api.auth import named_user
from hearth.api.chat.protocol import ChatCompletionRequest
from hearth.api.disconnect import ClientLeft, DisconnectWatch
from hearth.api.errors import error_body
from hearth.api.json_response import FastJSONResponse
from hearth.api.metering import RequestMeter
from hearth.api.metrics import Metrics
from hearth.assistant.turn import Assistant
from hearth.engines.base import ChatRequest, Delta, ToolCall
from hearth.errors import HearthError, InvalidRequest, ModelNotFound
from hearth.governance.energy import EnergyMeter
from hearth.governance.gate import Pass
from hearth.governance.gate_writer import GateWriter


def to_engine_request(body: ChatCompletionRequest, max_tokens_limit: int,
                      priority: int = 0) -> ChatRequest:
    if body.token_limit is not None and body.token_limit > max_tokens_limit:
        raise InvalidRequest(
            f"max_tokens is {body.token_limit}; this server allows at most {max_tokens_limit}.",
            param="max_tokens",
        )
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
        stop=list(body.stop or []),
        response_format=fmt.model_dump(by_alias=True) if fmt and fmt.type != "text" else None,
        tools=[t.model_dump(exclude_none=True) for t in body.tools] if body.tools else None,
        tool_choice=(body.tool_choice.model_dump() if isinstance(body.tool_choice, BaseModel)
                     else body.tool_choice),
        priority=priority,
        stream=body.stream,
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


def _usage(delta: Delta) -> dict[str, int]:
    return {"prompt_tokens": delta.prompt_tokens, "completion_tokens": delta.completion_tokens,
            "total_tokens": delta.prompt_tokens + delta.completion_tokens}


class ChatServing:
    """The logic behind ``POST /v1/chat/completions``; the router only hands requests in."""

    def __init__(self, assistant: Assistant, metrics: Metrics, gate: GateWriter,
                 energy: EnergyMeter, max_tokens_limit: int):
        self.assistant = assistant
        self.gate = gate
        self.metrics = metrics
        self.energy = energy
        self.max_tokens_limit = max_tokens_limit

    @property
    def model_id(self) -> str:
        return self.assistant.engine.model_id

    async def create(self, body: ChatCompletionRequest, request: Request, admitted: Pass):
        meter = RequestMeter(self.gate, self.energy, admitted, model=self.model_id,
                             route="chat.completions",
                             in_flight=self.assistant.engine.queue_depth() + 1)
        try:
            return await self._create(body, request, admitted, meter)
        except Exception as exc:  # refused or failed before any answer: still on record
            await meter.settle(exc.status if isinstance(exc, HearthError) else 500)
            raise

    async def _create(self, body: ChatCompletionRequest, request: Request, admitted: Pass,
                      meter: RequestMeter):
        if body.model != self.model_id:
            raise ModelNotFound(
                f"The model {body.model!r} does not exist; this server serves {self.model_id!r}.",
                param="model",
            )
        principal = admitted.principal
        engine_request = to_engine_request(body, self.max_tokens_limit, principal.priority)
        named = body.user or named_user(request)
        owner = principal.owner_for(named)
        memory_off = "off" in (request.headers.get("x-hearth-memory"),
                               (body.metadata or {}).get("memory"))
        deltas = self.assistant.respond(
            engine_request, conversation_id=body.conversation_id, owner=owner,
            remember=named is not None and not memory_off and "memory:write" in principal.scopes,
        )
        started = time.perf_counter()
        completion_id = f"chatcmpl-{secrets.token_hex(16)}"  # uuid4 costs 4x
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            first = await self._first_delta(deltas, started, meter)  # errors here -> 4xx
            return StreamingResponse(
                self._sse(first, deltas, completion_id, include_usage, meter),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            async with DisconnectWatch(request):
                return await self._whole(deltas, completion_id, started, meter)
        except ClientLeft:
            await meter.settle(499)
            return JSONResponse(error_body("Client disconnected.", "invalid_request_error"),
                                status_code=499)

    async def _first_delta(self, deltas: AsyncIterator[Delta], started: float,
                           meter: RequestMeter) -> Delta:
        first = await anext(deltas)
        self.metrics.ttft.observe(time.perf_counter() - started)
        meter.first_token()
        return first

    async def _whole(self, deltas: AsyncIterator[Delta], completion_id: str,
                     started: float, meter: RequestMeter) -> FastJSONResponse:
        parts: list[str] = []
        last = await self._first_delta(deltas, started, meter)
        parts.append(last.content)
        async for delta in deltas:
            parts.append(delta.content)
            last = delta
        self.metrics.count_tokens(last.prompt_tokens, last.completion_tokens)
        await meter.settle(200, last.prompt_tokens, last.completion_tokens)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(parts) or None}
        if last.tool_calls:
            message["tool_calls"] = _tool_calls_json(last.tool_calls)
        return FastJSONResponse({
            "id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": self.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": last.finish_reason,
                         "logprobs": None}],
            "usage": _usage(last),
        })

    async def _sse(self, first: Delta, deltas: AsyncIterator[Delta], completion_id: str,
                   include_usage: bool, meter: RequestMeter) -> AsyncIterator[str]:
        created = int(time.time())

        def chunk(delta_obj: dict[str, Any], finish: str | None, usage=None) -> str:
            payload = {"id": completion_id, "object": "chat.completion.chunk",
                       "created": created, "model": self.model_id,
                       "choices": [{"index": 0, "delta": delta_obj, "finish_reason": finish,
                                    "logprobs": None}]}
            if include_usage:
                payload["usage"] = usage
            return f"data: {json.dumps(payload)}\n\n"

        try:
            yield chunk({"role": "assistant", "content": ""}, None)
            delta = first
            while True:
                if delta.content:
                    yield chunk({"content": delta.content}, None)
                if delta.finish_reason is not None:
                    if delta.tool_calls:
                        yield chunk({"tool_calls": _tool_calls_json(delta.tool_calls, True)}, None)
                    yield chunk({}, delta.finish_reason)
                    self.metrics.count_tokens(delta.prompt_tokens, delta.completion_tokens)
                    await meter.settle(200, delta.prompt_tokens, delta.completion_tokens)
                    if include_usage:
                        usage_chunk = {"id": completion_id, "object": "chat.completion.chunk",
                                       "created": created, "model": self.model_id,
                                       "choices": [], "usage": _usage(delta)}
                        yield f"data: {json.dumps(usage_chunk)}\n\n"
                    break
                delta = await anext(deltas)
            yield "data: [DONE]\n\n"
        except HearthError as exc:
            await meter.settle(exc.status)
            yield f"data: {json.dumps(error_body(exc.message, exc.type, exc.param, exc.code))}\n\n"
        finally:
            await deltas.aclose()
            await meter.settle(499)  # the client left mid-stream (no-op once settled)
