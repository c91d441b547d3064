"""Checking a model's raw tool-call arguments against the tool's spec.

Servers that do not constrain tool calls let small models send broken JSON, misspelt or
wrong-typed arguments; each of those becomes a `ToolCallError` whose message tells the model
exactly what to send instead.
"""

from __future__ import annotations

import json
from typing import Any

from hearth.agent.tools.specs import ToolSpec


class ToolCallError(Exception):
    """A tool call the model must fix before it can run; the message says what to change."""


def parse_arguments(spec: ToolSpec, raw: str) -> dict[str, Any]:
    """The arguments in `raw` (the model's JSON string) checked against `spec`.

    A missing nullable argument counts as null and unknown keys are ignored, so a model that
    was not constrained by a grammar still gets through when it meant the right thing."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as error:
        raise ToolCallError(
            f"The arguments of {spec.name} are not valid JSON ({error.msg} at character "
            f"{error.pos}). Send one JSON object like {_example(spec)}.") from None
    if not isinstance(value, dict):
        raise ToolCallError(
            f"The arguments of {spec.name} must be a JSON object like {_example(spec)}, "
            f"not {type(value).__name__}.")
    arguments: dict[str, Any] = {}
    for param in spec.params:
        given = value.get(param.name)
        if given is None:
            if not param.nullable:
                raise ToolCallError(
                    f"{spec.name} needs the argument '{param.name}' ({param.description}). "
                    f"Send {_example(spec)}.")
            arguments[param.name] = None
            continue
        if not _has_type(given, param.type):
            raise ToolCallError(
                f"The argument '{param.name}' of {spec.name} must be a{_article(param.type)} "
                f"{param.type}{' or null' if param.nullable else ''}, not "
                f"{json.dumps(given)[:80]}.")
        arguments[param.name] = given
    return arguments


def _has_type(value: Any, json_type: str) -> bool:
    if json_type == "integer":  # bool is an int in Python, never in JSON
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _article(json_type: str) -> str:
    return "n" if json_type[0] in "aeiou" else ""


def _example(spec: ToolSpec) -> str:
    return json.dumps({p.name: (None if p.nullable else f"<{p.type}>") for p in spec.params})
