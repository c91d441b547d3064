"""The agent's side of the wire: one Chat Completions call per step, through the ``openai`` SDK.

The agent talks to any OpenAI-compatible server, so it speaks only the public protocol. Each step
asks for exactly one tool call (``tool_choice="required"``): a server that compiles tool schemas
to grammars, as hearth's does, then returns a well-formed call by construction, which is what
keeps a small model from losing its turns to malformed JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai

from hearth.errors import HearthError


class ModelUnavailable(HearthError):
    """The server could not be reached or refused the request for a reason the agent cannot fix."""


class ContextFull(HearthError):
    """The conversation no longer fits the model's context: the agent compacts and retries."""


@dataclass(frozen=True)
class ToolRequest:
    """One tool call as the model wrote it: ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ModelTurn:
    content: str
    calls: list[ToolRequest] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None

    def as_message(self) -> dict[str, Any]:
        """The assistant message to append to the history, in Chat Completions' shape."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}} for c in self.calls]
        return message


class Model(Protocol):
    def step(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
             temperature: float = 0.0) -> ModelTurn: ...


class OpenAIModel:
    """A model behind an OpenAI-compatible ``/v1/chat/completions``."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None, *,
                 max_tokens: int = 1024, timeout_s: float = 600.0):
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "local",
                                     timeout=timeout_s, max_retries=1)
        self.max_tokens = max_tokens
        self.model = model or self._first_model()

    def _first_model(self) -> str:
        try:
            models = self._client.models.list().data
        except openai.OpenAIError as exc:
            raise ModelUnavailable(f"Cannot list the models at {self._client.base_url}: {exc}. "
                                   "Check --url and --api-key.") from exc
        if not models:
            raise ModelUnavailable(f"The server at {self._client.base_url} serves no model.")
        return models[0].id

    def step(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
             temperature: float = 0.0) -> ModelTurn:
        try:
            reply = self._client.chat.completions.create(
                model=self.model, messages=messages, tools=tools, tool_choice="required",
                parallel_tool_calls=False, max_tokens=self.max_tokens,
                temperature=temperature)  # type: ignore[arg-type]
        except openai.BadRequestError as exc:
            if _code(exc) == "context_length_exceeded":
                raise ContextFull(str(exc)) from exc
            raise ModelUnavailable(f"The server refused the request: {exc}") from exc
        except openai.OpenAIError as exc:
            raise ModelUnavailable(f"The model call failed: {exc}") from exc
        choice = reply.choices[0]
        calls = [ToolRequest(c.id, c.function.name, c.function.arguments or "{}")
                 for c in choice.message.tool_calls or [] if c.type == "function"]
        usage = reply.usage
        return ModelTurn(choice.message.content or "", calls,
                         usage.prompt_tokens if usage else 0,
                         usage.completion_tokens if usage else 0, choice.finish_reason)


def _code(exc: openai.APIStatusError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    if code is None and "context" in str(exc).lower() and "length" in str(exc).lower():
        return "context_length_exceeded"
    return code if isinstance(code, str) else None


def arguments_of(call: ToolRequest) -> dict[str, Any] | None:
    """The call's arguments as a dict, or None when they are not a JSON object."""
    try:
        value = json.loads(call.arguments)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
