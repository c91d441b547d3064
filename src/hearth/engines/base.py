"""The engine protocol: what every model runner offers the layers above.

An engine turns a ``ChatRequest`` into a stream of ``Delta`` pieces. Token counting lives
here too, so that usage numbers come from the model's own tokenizer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from hearth.errors import ContextOverflow

FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass
class ToolCall:
    """One function call the model asked for, in OpenAI's shape."""

    id: str
    name: str
    arguments: str  # JSON text, as OpenAI sends it


@dataclass
class ChatRequest:
    """A chat completion request after validation; messages are OpenAI-style dicts."""

    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    temperature: float = 0.7
    top_p: float = 1.0
    seed: int | None = None
    # OpenAI's penalties on tokens already generated: by how often (frequency) and whether at
    # all (presence). 0 leaves the distribution as the model gives it.
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    stop: list[str] = field(default_factory=list)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    priority: int = 0  # the caller's plan: higher is admitted first when the queue is full
    # Whose prompt caches this request may reuse (the org): see ``engines.batch_decoder``.
    cache_scope: str = ""
    # The client reads the answer as a stream. Engines that generate locally stream anyway;
    # one that forwards to another server asks it for a whole answer when this is False,
    # which is one response to parse instead of a chunk per token.
    stream: bool = True
    reasoning_effort: str | None = None  # "low" | "medium" | "high"
    # A GGUF LoRA adapter to apply on the base weights for this request (a fine-tuned model);
    # only engines whose ``supports_adapters`` is true are ever sent one.
    adapter: str | None = None
    # Generate max_tokens whatever the model says (vLLM's ``ignore_eos``): what a decode-speed
    # measurement needs, so that two models are timed over the same number of tokens however
    # early either would stop. The embedded llama.cpp engine honours it; no API exposes it.
    ignore_eos: bool = False


@dataclass
class Delta:
    """A piece of a streamed answer. The last piece carries ``finish_reason`` and usage."""

    content: str = ""
    reasoning: str = ""  # the model's thinking, kept apart from its answer
    tool_calls: list[ToolCall] | None = None
    finish_reason: FinishReason | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens served from the engine's prefix cache


def completion_budget(context_length: int, prompt_tokens: int, max_tokens: int | None) -> int:
    """Tokens the answer may use; ContextOverflow when the prompt and max_tokens do not fit."""
    room = context_length - prompt_tokens
    if room < 1:
        raise ContextOverflow(
            f"This model's context is {context_length} tokens and the messages alone use "
            f"{prompt_tokens}. Shorten the messages."
        )
    if max_tokens is not None and max_tokens > room:
        raise ContextOverflow(
            f"This model's context is {context_length} tokens; the messages use {prompt_tokens} "
            f"and max_tokens asks for {max_tokens}. Shorten the messages or lower max_tokens."
        )
    return max_tokens or room


@runtime_checkable
class Engine(Protocol):
    """A loaded model that can chat, count tokens and (maybe) embed."""

    model_id: str
    context_length: int | None  # tokens per sequence; None where another server decides
    supports_adapters: bool  # applies a request's LoRA adapter (``ChatRequest.adapter``)

    def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        """Stream the answer. Closing the iterator early cancels generation at once."""
        ...

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Return one vector per text and the number of tokens read."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def queue_depth(self) -> int:
        """Requests admitted or waiting that have not finished."""
        ...

    def drop_adapter(self, path: str) -> None:
        """Unload the adapter at ``path`` (its model was deleted); nothing if never loaded."""
        ...

    async def close(self) -> None: ...
