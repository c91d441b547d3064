"""Turn a validated Responses request into a response object, whole or streamed (SSE).

The turn itself (checks, meter, memory, the assistant) is the one chat completions run, by
way of ``hearth.api.generation``; this module only reads items in and writes items out, and
keeps the response when ``store`` asks (saved before its last event goes out, so a client
can continue from it as soon as it has it).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hearth.api.generation import Generation, Turn
from hearth.api.json_response import FastJSONResponse
from hearth.api.metering import RequestMeter
from hearth.api.responses import items
from hearth.api.responses.events import ResponseBuilder
from hearth.api.responses.protocol import ResponsesRequest
from hearth.engines.base import ChatRequest, Delta
from hearth.errors import HearthError
from hearth.governance.gate import Pass
from hearth.store import responses
from hearth.store.db import Database
from hearth.store.owner import Owner


def to_engine_request(body: ResponsesRequest, messages: list[dict[str, Any]],
                      priority: int = 0) -> ChatRequest:
    return ChatRequest(
        messages=messages,
        max_tokens=body.max_output_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        response_format=items.chat_response_format(body),
        tools=items.chat_tools(body),
        tool_choice=items.chat_tool_choice(body) if body.tools else None,
        priority=priority,
        stream=body.stream,
        reasoning_effort=body.reasoning_effort,
    )


def _response_object(body: ResponsesRequest, model: str) -> dict[str, Any]:
    """The response as it starts: in progress, no output yet, the request's settings echoed."""
    choice = body.tool_choice
    return {
        "id": items.new_id("resp"), "object": "response", "created_at": int(time.time()),
        "status": "in_progress", "error": None, "incomplete_details": None,
        "instructions": body.instructions, "max_output_tokens": body.max_output_tokens,
        "model": model, "output": [], "parallel_tool_calls": body.parallel_tool_calls,
        "previous_response_id": body.previous_response_id,
        "reasoning": {"effort": body.reasoning_effort, "summary": None},
        "store": body.store, "temperature": body.temperature,
        "text": {"format": body.text.format.model_dump(by_alias=True, exclude_none=True)},
        "tool_choice": choice if isinstance(choice, str) else choice.model_dump(),
        "tools": [tool.model_dump(exclude_none=True) for tool in body.tools or ()],
        "top_p": body.top_p, "truncation": "disabled", "usage": None, "user": body.user,
        "metadata": body.metadata or {},
    }


class ResponsesServing:
    """The logic behind ``POST /v1/responses``; the router only hands requests in."""

    def __init__(self, generation: Generation, db: Database):
        self.generation = generation
        self.db = db

    async def create(self, body: ResponsesRequest, request: Request,
                     admitted: Pass) -> Response:
        return await self.generation.metered(
            admitted, "responses", lambda meter: self._create(body, request, admitted, meter))

    async def _create(self, body: ResponsesRequest, request: Request, admitted: Pass,
                      meter: RequestMeter) -> Response:
        served = await self.generation.check(body.model, admitted, body.max_output_tokens,
                                             "max_output_tokens")
        owner = self.generation.owner(request, admitted, body.user)
        context: list[dict[str, Any]] = []
        if body.previous_response_id:
            previous = await run_in_threadpool(responses.get_response, self.db, owner,
                                               body.previous_response_id)
            context = previous.input_items + previous.body["output"]
        all_items = context + items.input_items(body)
        engine_request = to_engine_request(body, items.to_messages(all_items, body.instructions),
                                           admitted.principal.priority)
        turn = self.generation.start(served, engine_request, request, admitted, meter,
                                     user=body.user, metadata=body.metadata)
        builder = ResponseBuilder(
            _response_object(body, served.id),
            count_tokens=self.generation.assistant.engine.count_tokens,
            parallel_tool_calls=body.parallel_tool_calls, stream=body.stream,
            namespaces=body.functions)
        kept = all_items if body.store else None
        if body.stream:
            first = await self.generation.first(turn)  # errors here -> 4xx
            return StreamingResponse(
                self._sse(builder, turn, first, owner, kept), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await self.generation.unless_client_leaves(
            request, meter, self._whole(builder, turn, owner, kept))

    async def _keep(self, owner: Owner, response: dict[str, Any],
                    input_items: list[dict[str, Any]] | None) -> None:
        if input_items is not None:
            await run_in_threadpool(responses.save_response, self.db, owner, response,
                                    input_items)

    async def _whole(self, builder: ResponseBuilder, turn: Turn, owner: Owner,
                     kept: list[dict[str, Any]] | None) -> FastJSONResponse:
        delta = await self.generation.first(turn)
        while delta.finish_reason is None:
            builder.feed(delta)
            delta = await anext(turn.deltas)
        await self.generation.finished(turn, delta)
        builder.finish(delta)
        await self._keep(owner, builder.response, kept)
        return FastJSONResponse(builder.response)

    async def _sse(self, builder: ResponseBuilder, turn: Turn, first: Delta, owner: Owner,
                   kept: list[dict[str, Any]] | None) -> AsyncIterator[str]:
        """The events in order. A client that leaves mid-stream stops generation, and its
        response, never finished, is not kept."""
        try:
            for event in builder.start():
                yield event
            delta = first
            while delta.finish_reason is None:
                for event in builder.feed(delta):
                    yield event
                delta = await anext(turn.deltas)
            await self.generation.finished(turn, delta)
            events = builder.finish(delta)
        except HearthError as exc:
            await turn.meter.settle(exc.status)
            events = builder.failed(exc)
        finally:
            await turn.deltas.aclose()
            await turn.meter.settle(499)  # the client left mid-stream (no-op once settled)
        await self._keep(owner, builder.response, kept)
        for event in events:
            yield event
