"""One response object built from the engine's pieces, with the stream events that announce
each step (the sequence the ``openai`` SDK and Codex CLI parse).

Reasoning becomes a ``reasoning`` item with ``reasoning_text`` content, the answer a
``message`` item with ``output_text`` content, and each tool call a ``function_call`` item;
every item is announced (``output_item.added``), written (``*.delta``) and closed
(``*.done``, ``output_item.done``) in order, each event numbered by ``sequence_number``.
A whole (non-streamed) answer is built by the same steps, without writing the events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from hearth.api.responses.items import new_id
from hearth.engines.base import Delta
from hearth.errors import HearthError

_TEXT_EVENTS = {"reasoning": "response.reasoning_text", "message": "response.output_text"}


class ResponseBuilder:
    """Fill ``response`` (a response object with status ``in_progress`` and no output yet).

    Each step returns its events as server-sent-event text, written at once so that each one
    shows the object as it was at that step; with ``stream`` False the steps return none.
    """

    def __init__(self, response: dict[str, Any], *, count_tokens: Callable[[str], int],
                 parallel_tool_calls: bool, stream: bool,
                 namespaces: dict[str, str | None] | None = None):
        self.response = response
        self._namespaces = namespaces or {}
        self._count_tokens = count_tokens
        self._parallel_tool_calls = parallel_tool_calls
        self._stream = stream
        self._sequence = 0
        self._open: dict[str, Any] | None = None  # the reasoning or message item being written
        self._reasoning: list[str] = []

    def _event(self, type_: str, **fields: Any) -> list[str]:
        if not self._stream:
            return []
        event = {"type": type_, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return [f"event: {type_}\ndata: {json.dumps(event)}\n\n"]

    @property
    def _index(self) -> int:
        return len(self.response["output"]) - 1

    def start(self) -> list[str]:
        return (self._event("response.created", response=self.response)
                + self._event("response.in_progress", response=self.response))

    def feed(self, delta: Delta) -> list[str]:
        events = []
        if delta.reasoning:
            self._reasoning.append(delta.reasoning)
            events += self._write("reasoning", delta.reasoning)
        if delta.content:
            events += self._write("message", delta.content)
        return events

    def finish(self, last: Delta) -> list[str]:
        """The last piece: close what is open, add the tool calls, and complete the response
        (``incomplete`` when the answer was cut at ``max_output_tokens``)."""
        incomplete = last.finish_reason == "length"
        status = "incomplete" if incomplete else "completed"
        events = self.feed(last) + self._close(status)
        calls = last.tool_calls or []
        for call in calls if self._parallel_tool_calls else calls[:1]:
            item = {"id": new_id("fc"), "type": "function_call", "call_id": call.id,
                    "name": call.name, "arguments": "", "status": "in_progress"}
            if namespace := self._namespaces.get(call.name):
                item["namespace"] = namespace
            self.response["output"].append(item)
            where = {"item_id": item["id"], "output_index": self._index}
            events += self._event("response.output_item.added", output_index=self._index,
                                  item=item)
            events += self._event("response.function_call_arguments.delta", **where,
                                  delta=call.arguments)
            item.update(arguments=call.arguments, status="completed")
            events += self._event("response.function_call_arguments.done", **where,
                                  name=call.name, arguments=call.arguments)
            events += self._event("response.output_item.done", output_index=self._index,
                                  item=item)
        reasoning_tokens = self._count_tokens("".join(self._reasoning)) if self._reasoning else 0
        self.response.update(
            status=status,
            completed_at=None if incomplete else int(time.time()),
            incomplete_details={"reason": "max_output_tokens"} if incomplete else None,
            usage={"input_tokens": last.prompt_tokens,
                   "input_tokens_details": {"cached_tokens": last.cached_tokens,
                                            "cache_write_tokens": 0},
                   "output_tokens": last.completion_tokens,
                   "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                   "total_tokens": last.prompt_tokens + last.completion_tokens},
        )
        return events + self._event(f"response.{status}", response=self.response)

    def failed(self, error: HearthError) -> list[str]:
        """The engine failed mid-answer: what was written stays, marked incomplete. The code
        is one of OpenAI's response error codes; hearth's own is in ``type`` and the message."""
        events = self._close("incomplete")
        code = ("rate_limit_exceeded" if error.status == 429 else
                "invalid_prompt" if error.status < 500 else "server_error")
        self.response.update(status="failed", error={"code": code, "message": error.message,
                                                     "type": error.type, "param": error.param})
        return events + self._event("response.failed", response=self.response)

    def _write(self, kind: str, text: str) -> list[str]:
        events = []
        if self._open is None or self._open["type"] != kind:
            events += self._close("completed") + self._begin(kind)
        assert self._open is not None
        self._open["content"][0]["text"] += text
        extra = {"logprobs": []} if kind == "message" else {}
        return events + self._event(f"{_TEXT_EVENTS[kind]}.delta", item_id=self._open["id"],
                                    output_index=self._index, content_index=0, delta=text,
                                    **extra)

    def _begin(self, kind: str) -> list[str]:
        if kind == "reasoning":
            item = {"id": new_id("rs"), "type": "reasoning", "summary": [], "content": [],
                    "status": "in_progress"}
            part = {"type": "reasoning_text", "text": ""}
        else:
            item = {"id": new_id("msg"), "type": "message", "role": "assistant",
                    "status": "in_progress", "content": []}
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        self.response["output"].append(item)
        self._open = item
        events = self._event("response.output_item.added", output_index=self._index, item=item)
        item["content"].append(part)
        return events + self._event("response.content_part.added", item_id=item["id"],
                                    output_index=self._index, content_index=0, part=part)

    def _close(self, status: str) -> list[str]:
        item, self._open = self._open, None
        if item is None:
            return []
        part = item["content"][0]
        where = {"item_id": item["id"], "output_index": self._index, "content_index": 0}
        extra = {"logprobs": []} if item["type"] == "message" else {}
        events = self._event(f"{_TEXT_EVENTS[item['type']]}.done", **where, text=part["text"],
                             **extra)
        events += self._event("response.content_part.done", **where, part=part)
        item["status"] = status
        return events + self._event("response.output_item.done", output_index=self._index,
                                    item=item)
