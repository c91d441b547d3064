"""The agent's tools behind one object: their specs for the model, a proposal for the user to
approve, and the call itself, which turns every model mistake into an observation.

The loop that drives a model never needs to know one tool from another: it sends `specs()`,
shows `propose()` to the user when the approval policy asks, and feeds `call()`'s bounded
observation back to the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hearth.agent.tools import edits, files, sandbox, shell
from hearth.agent.tools.arguments import ToolCallError, parse_arguments
from hearth.agent.tools.observation import Observation, Proposal, bound
from hearth.agent.tools.sandbox import SandboxMode
from hearth.agent.tools.specs import ALL_TOOLS, ToolSpec


class Toolbox:
    """The tools over the repository at `root`, confined by `mode`.

    In read-only mode there are no edit tools; without `allow_shell` there is no shell tool.
    Raises SandboxUnavailableError up front when commands would need bubblewrap and it cannot
    run here, rather than failing at the first command."""

    def __init__(self, root: Path, mode: SandboxMode = SandboxMode.WORKSPACE_WRITE, *,
                 shell_timeout_s: float = 60.0, allow_shell: bool = True) -> None:
        if not root.is_dir():
            raise NotADirectoryError(f"The agent's workspace {root} is not a folder: start it "
                                     f"in the repository it should work on.")
        self.root = root.resolve()
        self.mode = SandboxMode(mode)
        self.shell_timeout_s = shell_timeout_s
        self.tools: dict[str, ToolSpec] = {
            spec.name: spec for spec in ALL_TOOLS
            if not (spec.kind == "edit" and self.mode is SandboxMode.READ_ONLY)
            and not (spec.kind == "command" and not allow_shell)}
        if "shell" in self.tools and self.mode is not SandboxMode.FULL_ACCESS:
            sandbox.check_available()

    def specs(self) -> list[dict[str, Any]]:
        """The tools as Chat Completions `tools` entries, with strict JSON schemas."""
        return [spec.openai() for spec in self.tools.values()]

    def propose(self, name: str, arguments: str) -> Proposal:
        """What calling `name` would do, for the user to approve; writes nothing.

        Raises ToolCallError for an unknown tool, bad arguments, or an edit that cannot apply
        (a path outside the repository, a patch whose context is not in the file): the message
        is what the model must fix."""
        spec = self._spec(name)
        args = parse_arguments(spec, arguments)
        if spec.kind == "edit":
            changes = self._plan(name, args)
            return Proposal("edit", _edit_summary(changes), edits.unified_diff(changes))
        if spec.kind == "command":
            return Proposal("command", f"run: {args['command']}", command=args["command"])
        target = args.get("path") or "."
        if name == "search":
            return Proposal("read", f"search {args['pattern']!r} in {target}")
        return Proposal("read", f"{'list' if name == 'list_files' else 'read'} {target}")

    def call(self, name: str, arguments: str) -> Observation:
        """Run one tool call. Never raises for the model's mistakes: they come back as an
        observation with ok=False whose text says what to fix."""
        try:
            spec = self._spec(name)
            args = parse_arguments(spec, arguments)
            if spec.kind == "edit":
                return self._edit(self._plan(name, args))
            if spec.kind == "command":
                return self._shell(args["command"])
            return Observation(bound(self._read(name, args)), ok=True)
        except ToolCallError as error:
            return Observation(bound(str(error)), ok=False)
        except OSError as error:  # a file the model may not read or write: it can go around it
            return Observation(bound(f"{name} failed: {error}"), ok=False)

    def _spec(self, name: str) -> ToolSpec:
        if name not in self.tools:
            why = (" (it is not available in this sandbox mode)"
                   if any(spec.name == name for spec in ALL_TOOLS) else "")
            raise ToolCallError(f"There is no tool '{name}'{why}. The tools are: "
                                f"{', '.join(self.tools)}.")
        return self.tools[name]

    def _read(self, name: str, args: dict[str, Any]) -> str:
        if name == "list_files":
            return files.list_files(self.root, args["path"], args["depth"])
        if name == "read_file":
            return files.read_file(self.root, args["path"], args["start_line"], args["end_line"])
        return files.search(self.root, args["pattern"], args["path"])

    def _plan(self, name: str, args: dict[str, Any]) -> list[edits.FileChange]:
        if name == "apply_patch":
            return edits.plan_patch(self.root, args["input"])
        return edits.plan_write(self.root, args["path"], args["content"])

    def _edit(self, changes: list[edits.FileChange]) -> Observation:
        if not changes:
            return Observation("Nothing changed: the files already hold this content.", ok=True)
        edits.write_changes(self.root, changes)
        return Observation(f"Done: {_edit_summary(changes)}.", ok=True,
                           changed_files=tuple(change.path for change in changes))

    def _shell(self, command: str) -> Observation:
        result = shell.run_command(command, self.root, self.mode, self.shell_timeout_s)
        if result.exit_code is None:
            head = (f"The command was stopped after {self.shell_timeout_s:g} s (the time limit). "
                    f"Output so far:\n")
        else:
            head = f"Exit code {result.exit_code}.\n"
        output = result.output if result.output else "(no output)\n"
        return Observation(bound(head + output), ok=result.exit_code == 0)


def _edit_summary(changes: list[edits.FileChange]) -> str:
    """One line naming each file an edit touches, e.g. 'edit src/app.py, add tests/t.py'."""
    if not changes:
        return "no change"
    verbs = [("add" if c.old is None else "delete" if c.new is None else "edit") + f" {c.path}"
             for c in changes]
    return ", ".join(verbs)
