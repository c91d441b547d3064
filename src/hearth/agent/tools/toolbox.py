"""The agent's tools in one place: their schemas for the model, a preview for approval, a run.

Schemas are strict (every property required, optional ones nullable, nothing else allowed) so
a server that compiles them to a grammar, as hearth's does, can only produce calls that parse.
A mistake in a call never raises out of ``call``: it comes back as an observation that says
what to fix, which is what lets a small model recover instead of ending the session.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hearth.agent.tools import files, patch, shell
from hearth.agent.tools.errors import ToolCallError
from hearth.agent.tools.observation import Observation
from hearth.agent.tools.paths import inside, relative
from hearth.agent.tools.sandbox import SandboxMode, SandboxUnavailable


@dataclass(frozen=True)
class Proposal:
    """What the user approves before a call runs."""

    kind: Literal["read", "edit", "command"]
    summary: str  # one line: "edit src/app.py", "run: pytest -q"
    diff: str | None = None  # an edit's unified diff, computed without writing anything
    command: str | None = None


def _function(name: str, description: str, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties,
                       "required": list(properties), "additionalProperties": False}}}


_STRING = {"type": "string"}
_OPTIONAL_INT = {"type": ["integer", "null"]}
_OPTIONAL_STRING = {"type": ["string", "null"]}

READ_SPECS = [
    _function("list_files", "List the files under a folder of the repository ('.' for its "
              "root), down to depth levels (null: 3).", path=_STRING, depth=_OPTIONAL_INT),
    _function("read_file", "Read a file's lines, numbered. start_line and end_line are "
              "optional (null: the whole file, up to 400 lines).", path=_STRING,
              start_line=_OPTIONAL_INT, end_line=_OPTIONAL_INT),
    _function("search", "Find lines matching a Python regular expression in the repository's "
              "files (path: a folder or file, null for all).", pattern=_STRING,
              path=_OPTIONAL_STRING),
]
EDIT_SPECS = [
    _function("write_file", "Write a whole file (created if missing): the best way to change a "
              "small file.", path=_STRING, content=_STRING),
    _function("apply_patch", "Change files with a patch: '*** Begin Patch', then '*** Update "
              "File: PATH' followed by hunks of ' ' context, '-' removed and '+' added lines "
              "(or '*** Add File: PATH' with '+' lines, or '*** Delete File: PATH'), then "
              "'*** End Patch'.", input=_STRING),
]
SHELL_SPEC = _function("shell", "Run a bash command in the repository's root (in a sandbox: no "
                       "network) and see its output and exit code.", command=_STRING)


class Toolbox:
    def __init__(self, root: Path, mode: SandboxMode = SandboxMode.WORKSPACE_WRITE, *,
                 shell_timeout_s: float = 60.0, allow_shell: bool = True):
        self.root = root.resolve()
        self.mode = mode
        self.shell_timeout_s = shell_timeout_s
        self.allow_shell = allow_shell

    def specs(self) -> list[dict[str, Any]]:
        # Edits first: small models lean to the first tools they are shown, and a task's named
        # files are already in its message, so the edit is usually the step to take.
        edits = EDIT_SPECS if self.mode is not SandboxMode.READ_ONLY else []
        return [*edits, *READ_SPECS, *([SHELL_SPEC] if self.allow_shell else [])]

    def _arguments(self, name: str, arguments: str) -> dict[str, Any]:
        known = {spec["function"]["name"]: spec for spec in self.specs()}
        if name not in known:
            raise ToolCallError(f"There is no tool {name!r} here; the tools are: "
                                f"{', '.join(known)}.")
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ToolCallError(f"The arguments of {name} are not valid JSON ({exc.msg} at "
                                f"character {exc.pos}).") from None
        if not isinstance(args, dict):
            raise ToolCallError(f"The arguments of {name} must be a JSON object.")
        schema = known[name]["function"]["parameters"]["properties"]
        for key, rule in schema.items():
            value = args.get(key)
            kinds = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
            if value is None and "null" not in kinds:
                raise ToolCallError(f"{name} needs {key!r} ({kinds[0]}).")
            if value is not None and not isinstance(value, int if "integer" in kinds else str):
                raise ToolCallError(f"{name}: {key!r} must be {' or '.join(kinds)}.")
        return args

    def propose(self, name: str, arguments: str) -> Proposal:
        """What the call would do, computed without doing it: ToolCallError if it cannot."""
        args = self._arguments(name, arguments)
        if name in ("list_files", "read_file", "search"):
            what = args.get("path") or args.get("pattern") or "."
            return Proposal("read", f"{name} {what}")
        if name == "shell":
            return Proposal("command", f"run: {args['command']}", command=args["command"])
        planned = self._planned(name, args)
        names = ", ".join(relative(self.root, path) for path in planned)
        return Proposal("edit", f"edit {names}", self._diff(planned))

    def _planned(self, name: str, args: dict[str, Any]) -> dict[Path, str | None]:
        def resolve(path: str) -> Path:
            return inside(self.root, path, writing=True)

        if name == "write_file":
            content = args["content"]
            return {resolve(args["path"]): content if content.endswith("\n") or not content
                    else content + "\n"}
        return patch.plan(self.root, patch.parse(args["input"]), resolve)

    def _diff(self, planned: dict[Path, str | None]) -> str:
        parts = []
        for path, new in planned.items():
            name = relative(self.root, path)
            old = path.read_text(errors="replace") if path.is_file() else ""
            parts += difflib.unified_diff(old.splitlines(keepends=True),
                                          (new or "").splitlines(keepends=True),
                                          f"a/{name}", f"b/{name}")
        return "".join(parts)

    def call(self, name: str, arguments: str) -> Observation:
        """Run the call; a mistake in it comes back as an observation with ``ok`` False."""
        try:
            args = self._arguments(name, arguments)
            if name == "list_files":
                return files.list_files(self.root, args["path"], args.get("depth"))
            if name == "read_file":
                return files.read_file(self.root, args["path"], args.get("start_line"),
                                       args.get("end_line"))
            if name == "search":
                return files.search(self.root, args["pattern"], args.get("path"))
            if name == "shell":
                return shell.run(self.root, args["command"], self.mode, self.shell_timeout_s)
            return self._write(self._planned(name, args))
        except (ToolCallError, SandboxUnavailable) as exc:
            return Observation(f"error: {exc.message}", False)

    def _write(self, planned: dict[Path, str | None]) -> Observation:
        changed, said = [], []
        for path, content in planned.items():
            name = relative(self.root, path)
            if content is not None and path.is_file() and path.read_text(errors="replace") == content:
                said.append(f"{name} already had this content: nothing changed")
                continue
            if content is None:
                path.unlink()
                said.append(f"deleted {name}")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
                said.append(f"wrote {name}")
            changed.append(name)
        return Observation("; ".join(said).capitalize() + ".", True, tuple(changed))
