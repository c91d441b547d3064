"""What every route that generates shares, whatever shape its answer takes.

Chat Completions and Responses differ only in how they read a request and write an answer;
the rest is one definition here: the model and token-limit checks, the request's meter
(settled on every path, errors and departed clients included), whose memories the turn
reaches and whether it may remember, the assistant's turn itself, and the time to the first
token.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from hearth.api.auth import named_user
from hearth.api.disconnect import ClientLeft, DisconnectWatch
from hearth.api.errors import error_body
from hearth.api.metering import RequestMeter
from hearth.api.metrics import Metrics
from hearth.api.models.serving import ModelsServing, ServedModel
from hearth.assistant.turn import Assistant
from hearth.engines.base import ChatRequest, Delta
from hearth.errors import HearthError, InvalidRequest
from hearth.governance.energy import EnergyMeter
from hearth.governance.gate import Pass
from hearth.governance.gate_writer import GateWriter
from hearth.store.owner import Owner


@dataclass
class Turn:
    """One generation under way: the assistant's pieces, and the request's meter."""

    deltas: AsyncIterator[Delta]
    meter: RequestMeter
    owner: Owner
    started: float
    model: str  # as the answer names it: the base's id or the fine-tuned model's


class Generation:
    def __init__(self, assistant: Assistant, models: ModelsServing, metrics: Metrics,
                 gate: GateWriter, energy: EnergyMeter, max_tokens_limit: int):
        self.assistant = assistant
        self.models = models
        self.metrics = metrics
        self.gate = gate
        self.energy = energy
        self.max_tokens_limit = max_tokens_limit

    @property
    def model_id(self) -> str:
        return self.assistant.engine.model_id

    async def check(self, model: str, admitted: Pass, token_limit: int | None,
                    token_param: str) -> ServedModel:
        """What the engine runs for ``model`` (the base, or one of the caller's org's
        fine-tuned models on it); refuse a model this server does not serve, or more tokens
        than it allows."""
        served = await self.models.resolve(model, admitted.principal.org_id)
        if token_limit is not None and token_limit > self.max_tokens_limit:
            raise InvalidRequest(
                f"{token_param} is {token_limit}; this server allows at most "
                f"{self.max_tokens_limit}.", param=token_param,
            )
        return served

    async def metered(self, admitted: Pass, route: str,
                      answer: Callable[[RequestMeter], Awaitable[Response]]) -> Response:
        """Run ``answer`` with the request's meter; a request refused or failed before any
        answer is still put on record, with its status."""
        meter = RequestMeter(self.gate, self.energy, admitted, model=self.model_id, route=route,
                             in_flight=self.assistant.engine.queue_depth() + 1)
        try:
            return await answer(meter)
        except Exception as exc:
            await meter.settle(exc.status if isinstance(exc, HearthError) else 500)
            raise

    @staticmethod
    def owner(request: Request, admitted: Pass, user: str | None) -> Owner:
        """Whose data the request reaches: the caller's, or the end user it names."""
        return admitted.principal.owner_for(user or named_user(request))

    def start(self, served: ServedModel, engine_request: ChatRequest, request: Request,
              admitted: Pass, meter: RequestMeter, *, user: str | None,
              metadata: dict[str, str] | None) -> Turn:
        """Begin the assistant's turn on the ``served`` model for the caller (or the end user
        it names).

        The turn remembers only for a named user whose key may write memories, unless the
        ``X-Hearth-Memory: off`` header or ``metadata.memory = "off"`` says not to;
        ``metadata.conversation`` names a conversation to record the turn in.
        """
        principal = admitted.principal
        named = user or named_user(request)
        owner = self.owner(request, admitted, user)
        memory_off = "off" in (request.headers.get("x-hearth-memory"),
                               (metadata or {}).get("memory"))
        meter.model = served.id
        deltas = self.assistant.respond(
            replace(engine_request, adapter=served.adapter),
            conversation_id=(metadata or {}).get("conversation"), owner=owner,
            remember=named is not None and not memory_off and "memory:write" in principal.scopes,
        )
        return Turn(deltas, meter, owner, time.perf_counter(), served.id)

    async def first(self, turn: Turn) -> Delta:
        """The first piece of the answer; errors raised before it can still be a 4xx."""
        first = await anext(turn.deltas)
        self.metrics.ttft.observe(time.perf_counter() - turn.started)
        turn.meter.first_token()
        return first

    async def finished(self, turn: Turn, last: Delta) -> None:
        """Count the tokens and settle the request as answered."""
        self.metrics.count_tokens(last.prompt_tokens, last.completion_tokens)
        await turn.meter.settle(200, last.prompt_tokens, last.completion_tokens)

    @staticmethod
    async def unless_client_leaves(request: Request, meter: RequestMeter,
                                   answer: Awaitable[Response]) -> Response:
        """A whole answer; if the client leaves first, generation stops and the request is
        settled as 499 (nginx's "client closed request")."""
        try:
            async with DisconnectWatch(request):
                return await answer
        except ClientLeft:
            await meter.settle(499)
            return JSONResponse(error_body("Client disconnected.", "invalid_request_error"),
                                status_code=499)
