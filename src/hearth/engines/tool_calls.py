"""Tool calling in OpenAI's shape, on models that write calls as text.

Qwen-family chat templates ask the model to answer ``<tool_call>{"name": …, "arguments": …}
</tool_call>``; this module turns such text into ``ToolCall`` objects. When the caller forces a
call (``tool_choice`` "required" or a named function) the engine instead constrains the output
to the JSON schema built by ``forced_call_schema``, so the call is valid by construction.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from hearth.engines.base import ToolCall
from hearth.errors import InvalidRequest

_CALL_MARK = "<tool_call>"
_TAGGED = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)
_FENCED = re.compile(r"^\s*```(?:json)?\s*(\{.*\})\s*```\s*$", re.DOTALL)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _as_call(obj: Any, known: set[str]) -> ToolCall | None:
    if not isinstance(obj, dict) or obj.get("name") not in known:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None
    return ToolCall(id=new_call_id(), name=obj["name"], arguments=json.dumps(args))


def parse_tool_calls(text: str, tools: list[dict[str, Any]]) -> tuple[str, list[ToolCall]]:
    """Split model output into plain content and the tool calls it contains."""
    known = {t["function"]["name"] for t in tools}
    calls: list[ToolCall] = []
    for match in _TAGGED.finditer(text):
        try:
            call = _as_call(json.loads(match.group(1)), known)
        except json.JSONDecodeError:
            call = None
        if call:
            calls.append(call)
    if calls:
        return _TAGGED.sub("", text).strip(), calls
    # A bare JSON call, as forced (constrained) output is written; small models also
    # wrap it in a markdown code fence.
    fenced = _FENCED.match(text)
    try:
        call = _as_call(json.loads(fenced.group(1) if fenced else text), known)
    except json.JSONDecodeError:
        call = None
    return ("", [call]) if call else (text, [])


def forced_function_names(tools: list[dict[str, Any]], tool_choice: Any) -> list[str] | None:
    """Names the model must choose from, or None when it may answer in plain text."""
    names = [t["function"]["name"] for t in tools]
    if tool_choice in (None, "auto", "none"):
        return None
    if tool_choice == "required":
        return names
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name")
        if name not in names:
            raise InvalidRequest(
                f"tool_choice names function {name!r}, which is not in tools.", param="tool_choice"
            )
        return [name]
    raise InvalidRequest(
        "tool_choice must be 'none', 'auto', 'required' or a function.", param="tool_choice"
    )


def forced_call_schema(tools: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """JSON schema of ``{"name": …, "arguments": …}`` for any of the allowed functions."""
    options = []
    for tool in tools:
        fn = tool["function"]
        if fn["name"] in names:
            params = fn.get("parameters") or {"type": "object", "properties": {}}
            options.append(
                {
                    "type": "object",
                    "properties": {"name": {"const": fn["name"]}, "arguments": params},
                    "required": ["name", "arguments"],
                }
            )
    return options[0] if len(options) == 1 else {"anyOf": options}


class CallHoldBack:
    """Streams the plain text of an answer that may call tools, holding back what may be a call.

    A call is known only once it is complete, but the text before it need not wait: agents show
    it as it comes. Text is held from where a ``<tool_call>`` mark begins (or may be beginning,
    at the end of what came so far), and the whole answer is held when it opens like a bare or
    fenced JSON call. What is held goes to ``parse_tool_calls`` at the end.
    """

    def __init__(self) -> None:
        self._held = ""
        self._holding = False
        self._streamed = False

    def feed(self, text: str) -> str:
        """Add generated text; return the part that is plain text for certain."""
        self._held += text
        if self._holding:
            return ""
        if not self._streamed:
            opening = self._held.lstrip()
            if not opening:
                return ""
            if opening.startswith(("{", "`")):
                self._holding = True
                return ""
        at = self._held.find(_CALL_MARK)
        if at != -1:
            self._holding = True
            out, self._held = self._held[:at], self._held[at:]
        else:
            keep = next((n for n in range(min(len(_CALL_MARK) - 1, len(self._held)), 0, -1)
                         if self._held.endswith(_CALL_MARK[:n])), 0)
            out, self._held = self._held[:len(self._held) - keep], self._held[len(self._held) - keep:]
        self._streamed = self._streamed or bool(out)
        return out

    def flush(self) -> str:
        """What is held at the end of generation."""
        out, self._held = self._held, ""
        return out

