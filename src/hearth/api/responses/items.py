"""Responses items as the chat messages an engine reads.

The Responses API speaks in items (messages, function calls and their outputs, reasoning);
the engines speak OpenAI chat messages. Stored responses keep items, so a continuation
(``previous_response_id``) is the stored items followed by the new ones, turned into
messages here like any other input.
"""

from __future__ import annotations

import secrets
from typing import Any

from hearth.api.responses.protocol import NamespaceTool, ResponsesRequest

_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco",
                "reasoning": "rs"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def input_items(body: ResponsesRequest) -> list[dict[str, Any]]:
    """The request's input as items, each with an id, message text as a list of parts (as
    OpenAI lists input items)."""
    items = []
    for item in body.input:
        data = item.model_dump(by_alias=True, exclude_none=True)
        data.setdefault("id", new_id(_ID_PREFIXES[item.type]))
        if isinstance(data.get("content"), str):
            kind = "output_text" if data["role"] == "assistant" else "input_text"
            data["content"] = [{"type": kind, "text": data["content"]}]
        items.append(data)
    return items


def _text(content: str | list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content)


def to_messages(items: list[dict[str, Any]], instructions: str | None) -> list[dict[str, Any]]:
    """Chat messages for the engine: instructions first (as the system message), then each
    item in order. Function calls join the assistant message they follow (one message with
    several ``tool_calls``, as chat templates expect); reasoning items are left out."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = "system" if item["role"] == "developer" else item["role"]
            messages.append({"role": role, "content": _text(item["content"])})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}}
            if messages and messages[-1]["role"] == "assistant":
                messages[-1].setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": _text(item["output"])})
    return messages


def chat_tools(body: ResponsesRequest) -> list[dict[str, Any]] | None:
    """Function tools in the chat shape, where the function's fields sit under ``function``;
    the functions of a namespace are listed like the others."""
    if not body.tools:
        return None
    functions = [inner for tool in body.tools
                 for inner in (tool.tools if isinstance(tool, NamespaceTool) else [tool])]
    return [{"type": "function", "function": f.model_dump(exclude={"type"}, exclude_none=True)}
            for f in functions]


def chat_tool_choice(body: ResponsesRequest) -> str | dict[str, Any]:
    if isinstance(body.tool_choice, str):
        return body.tool_choice
    return {"type": "function", "function": {"name": body.tool_choice.name}}


def chat_response_format(body: ResponsesRequest) -> dict[str, Any] | None:
    """``text.format`` as chat's ``response_format`` (None for plain text)."""
    fmt = body.text.format
    if fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": fmt.name, "schema": fmt.schema_,
                                                   "strict": fmt.strict}}

