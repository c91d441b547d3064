"""A deterministic engine for tests: the words it says do not matter, the protocol does.

It answers "You said: <last user message>" one word per token, honours ``max_tokens``, stop
sequences, JSON-schema output (a minimal valid instance) and forced tool calls, and goes
through the same admission queue as the real engine. A request with ``reasoning_effort``
thinks first, "Thinking (<effort>) about: <last user message>", as reasoning pieces kept
apart from the answer (counted among the completion tokens, as reasoning models count it). ``HEARTH_FAKE_TOKEN_DELAY`` (seconds)
slows it down so that tests can watch queueing and cancellation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from hearth.config import Settings
from hearth.engines.admission import Admission
from hearth.engines.base import ChatRequest, Delta, ToolCall, completion_budget
from hearth.engines.stops import StopMatcher
from hearth.engines.tool_calls import forced_call_schema, forced_function_names, new_call_id


def example_for_schema(schema: Any) -> Any:
    """A small value for a JSON schema: valid for the subset tools and tests use, and some
    value, never an error, for any other schema that passed the API's metaschema check."""
    if not isinstance(schema, dict):  # true / false, allowed wherever a schema is
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_for_schema(schema[key][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0] if kind else "object"
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example_for_schema(props.get(name, {}))
                for name in schema.get("required", props)}
    if kind == "array":
        count = min(schema.get("minItems", 0), 8)  # a token budget ends longer ones anyway
        return [example_for_schema(schema.get("items", {}))] * count
    return {"string": "x", "integer": 1, "number": 1.5, "boolean": True}.get(kind)


def _last_user_text(request: ChatRequest) -> str:
    return next((str(m.get("content") or "") for m in reversed(request.messages)
                 if m.get("role") == "user"), "")


FAKE_CONTEXT_LENGTH = 32768  # as Qwen2.5-Coder's, the default model


class FakeEngine:
    supports_adapters = False

    def __init__(self, model_id: str, context_length: int, slots: int, max_queue: int,
                 token_delay: float = 0.0):
        self.model_id = model_id
        self.context_length = context_length
        self.token_delay = token_delay
        self.admission = Admission(slots, max_queue)

    @classmethod
    def from_settings(cls, settings: Settings) -> "FakeEngine":
        return cls(
            model_id=settings.model,
            context_length=settings.context_length or FAKE_CONTEXT_LENGTH,
            slots=settings.parallel,
            max_queue=settings.max_queue,
            token_delay=float(os.environ.get("HEARTH_FAKE_TOKEN_DELAY", "0")),
        )

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def drop_adapter(self, path: str) -> None:
        """Nothing to unload: this engine applies no adapters (``supports_adapters``)."""

    def queue_depth(self) -> int:
        return self.admission.depth

    def _prompt_tokens(self, request: ChatRequest) -> int:
        return sum(self.count_tokens(str(m.get("content") or "")) + 3 for m in request.messages)

    async def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        prompt_tokens = self._prompt_tokens(request)
        budget = completion_budget(self.context_length, prompt_tokens, request.max_tokens)
        async with self.admission.slot(request.priority):
            async for delta in self._generate(request, prompt_tokens, budget):
                yield delta

    async def _generate(self, request: ChatRequest, prompt_tokens: int,
                        budget: int) -> AsyncIterator[Delta]:
        names = forced_function_names(request.tools, request.tool_choice) if request.tools else None
        if names:
            schema = forced_call_schema(request.tools or [], names)
            call = example_for_schema(schema)
            yield Delta(
                tool_calls=[ToolCall(new_call_id(), call["name"], json.dumps(call["arguments"]))],
                finish_reason="tool_calls", prompt_tokens=prompt_tokens, completion_tokens=1,
            )
            return
        emitted = 0
        if request.reasoning_effort not in (None, "none"):
            thought = ["Thinking", f"({request.reasoning_effort})", "about:",
                       *_last_user_text(request).split()]
            for i, word in enumerate(thought[:budget]):
                emitted += 1
                yield Delta(reasoning=word if i == 0 else " " + word)
        words = self._answer_words(request)
        stops = StopMatcher(request.stop)
        finish = "stop"
        for i, word in enumerate(words):
            if emitted >= budget:
                finish = "length"
                break
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            text = stops.feed(word if i == 0 else " " + word)
            emitted += 1
            if text:
                yield Delta(content=text)
            if stops.stopped:
                break
        tail = stops.flush()
        yield Delta(content=tail, finish_reason=finish, prompt_tokens=prompt_tokens,
                    completion_tokens=emitted)

    def _answer_words(self, request: ChatRequest) -> list[str]:
        fmt = request.response_format or {}
        if fmt.get("type") == "json_schema":
            return [json.dumps(example_for_schema(fmt["json_schema"]["schema"]))]
        if fmt.get("type") == "json_object":
            return ["{}"]
        last_user = _last_user_text(request)
        if request.seed is not None and request.temperature > 0:
            salt = hashlib.sha256(f"{request.seed}".encode()).hexdigest()[:8]
            return ["You", "said:", *last_user.split(), f"[{salt}]"]
        return ["You", "said:", *last_user.split()]

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        vectors = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            raw = [b / 255.0 - 0.5 for b in digest[:16]]
            norm = sum(x * x for x in raw) ** 0.5 or 1.0
            vectors.append([x / norm for x in raw])
        return vectors, sum(self.count_tokens(t) for t in texts)

    async def close(self) -> None:
        return None
