"""Render OpenAI-style messages into a prompt with the chat template the GGUF file carries.

The template is Jinja, written by the model's authors; it is run in Jinja's sandbox because a
model file is third-party data.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hearth.errors import InvalidRequest


def _raise(message: str) -> None:
    raise TemplateError(message)


def _arguments_as_objects(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Templates print tool-call arguments with ``tojson``; give them objects, not strings."""
    out = []
    for message in messages:
        calls = message.get("tool_calls")
        if calls:
            message = dict(message)
            fixed = []
            for call in calls:
                fn = dict(call.get("function", {}))
                try:
                    fn["arguments"] = json.loads(fn.get("arguments") or "{}")
                except (TypeError, json.JSONDecodeError):
                    pass
                fixed.append({**call, "function": fn})
            message["tool_calls"] = fixed
        out.append(message)
    return out


class ChatTemplate:
    def __init__(self, source: str, bos_token: str, eos_token: str):
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        env.policies["json.dumps_kwargs"] = {"ensure_ascii": False}
        self._template = env.from_string(source)
        self.bos_token = bos_token
        self.eos_token = eos_token

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        try:
            return self._template.render(
                messages=_arguments_as_objects(messages), tools=tools or None,
                add_generation_prompt=True, bos_token=self.bos_token, eos_token=self.eos_token,
            )
        except TemplateError as exc:
            raise InvalidRequest(f"The model's chat template refused the messages: {exc}",
                                 param="messages") from None
