"""Stand-ins for the agent loop's two sides: a model that replies from a script, and tools that
write files into a folder. They let the loop's rules be tested exactly, step by step."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.agent.model import ContextFull, ModelTurn, ToolRequest


def call(name: str, **arguments: Any) -> ModelTurn:
    return ModelTurn("", [ToolRequest(f"call_{name}_{len(arguments)}", name,
                                      json.dumps(arguments))], prompt_tokens=100,
                     completion_tokens=10)


class ScriptedModel:
    """Replies with the turns given, in order; records the messages it was shown."""

    def __init__(self, turns: Iterable[ModelTurn | type[Exception]]):
        self.turns = list(turns)
        self.seen: list[list[dict[str, Any]]] = []
        self.temperatures: list[float] = []

    def step(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
             temperature: float = 0.0) -> ModelTurn:
        self.seen.append([dict(m) for m in messages])
        self.temperatures.append(temperature)
        turn = self.turns.pop(0)
        if isinstance(turn, type):
            raise turn("full")
        return turn


@dataclass(frozen=True)
class Proposal:
    kind: str
    summary: str
    diff: str | None = None
    command: str | None = None


@dataclass(frozen=True)
class Observation:
    text: str
    ok: bool
    changed_files: tuple[str, ...] = ()


class FolderTools:
    """``write`` (path, content) writes a file; ``fail`` always fails the same way; ``run``
    (command) is a command that only says it ran."""

    def __init__(self, root: Path):
        self.root = root
        self.calls: list[str] = []

    def specs(self) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": name, "parameters": {}}}
                for name in ("write", "fail", "run")]

    def propose(self, name: str, arguments: str) -> Proposal:
        args = json.loads(arguments)
        if name == "write":
            target = self.root / args["path"]
            same = target.is_file() and target.read_text() == args["content"]
            return Proposal("edit", f"edit {args['path']}", None if same else f"+{args['content']}")
        if name == "run":
            return Proposal("command", f"run: {args['command']}", command=args["command"])
        return Proposal("read", name)

    def call(self, name: str, arguments: str) -> Observation:
        self.calls.append(name)
        args = json.loads(arguments)
        if name == "write":
            target = self.root / args["path"]
            if target.is_file() and target.read_text() == args["content"]:
                return Observation("nothing changed", True)
            target.write_text(args["content"])
            return Observation(f"wrote {args['path']}", True, (args["path"],))
        if name == "run":
            return Observation(f"ran {args['command']}", True)
        return Observation("error: no such thing", False)


__all__ = ["ContextFull", "FolderTools", "ScriptedModel", "call"]
