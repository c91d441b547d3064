"""The tools the model may call, described once: their names, what they are for, and their
arguments, rendered as OpenAI Chat Completions `tools` entries.

The schemas are strict (every property required, no others allowed) so a server that compiles
JSON schemas to grammars, as hearth's does, can only emit well-formed calls; an optional argument
is therefore required but nullable (`"type": ["integer", "null"]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["read", "edit", "command"]


@dataclass(frozen=True)
class Param:
    """One argument: its JSON type, whether null is allowed (the optional ones), and a hint."""

    name: str
    type: Literal["string", "integer"]
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """One tool: `kind` says what the user approves (a read, an edit or a command)."""

    name: str
    kind: Kind
    description: str
    params: tuple[Param, ...]

    def openai(self) -> dict[str, Any]:
        """This tool as a Chat Completions `tools` entry with a strict JSON schema."""
        properties = {
            p.name: {"type": [p.type, "null"] if p.nullable else p.type,
                     "description": p.description}
            for p in self.params}
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "strict": True,
            "parameters": {"type": "object", "properties": properties,
                           "required": [p.name for p in self.params],
                           "additionalProperties": False}}}


# Defaults the descriptions promise and the read tools apply.
DEFAULT_DEPTH = 3
READ_WINDOW = 250  # lines per read_file call when no end is given

_PATH = Param("path", "string", "Path relative to the repository root.")

LIST_FILES = ToolSpec(
    "list_files", "read",
    "List the files under a folder of the repository (files ignored by .gitignore are left "
    "out). Folders deeper than `depth` are shown as one line with their file count.",
    (Param("path", "string", "Folder relative to the repository root; '.' for the root."),
     Param("depth", "integer", f"How many folder levels to show; null for {DEFAULT_DEPTH}.",
           nullable=True)))

READ_FILE = ToolSpec(
    "read_file", "read",
    f"Read a text file with numbered lines, {READ_WINDOW} lines at a time; give start_line and "
    f"end_line to read another part.",
    (_PATH,
     Param("start_line", "integer", "First line to show (1-based); null for 1.", nullable=True),
     Param("end_line", "integer", f"Last line to show; null for {READ_WINDOW} lines on.",
           nullable=True)))

SEARCH = ToolSpec(
    "search", "read",
    "Search the repository's files (not those ignored by .gitignore) for a Python regular "
    "expression; prints `file:line: text` for each matching line.",
    (Param("pattern", "string", "Python regular expression, matched against each line."),
     Param("path", "string", "File or folder to search in; null for the whole repository.",
           nullable=True)))

APPLY_PATCH = ToolSpec(
    "apply_patch", "edit",
    "Edit files with a patch. Format:\n*** Begin Patch\n*** Update File: path/to/file.py\n"
    "@@ def the_function():\n context line\n-removed line\n+added line\n context line\n"
    "*** Add File: path/new.py\n+every line of the new file starts with +\n"
    "*** Delete File: path/old.py\n*** End Patch\n"
    "Each @@ hunk shows about 3 unchanged context lines (starting with a space) around the "
    "change; lines starting with - are removed, + are added. `*** Move to: new/path` may follow "
    "an Update File line to rename the file.",
    (Param("input", "string", "The whole patch, from *** Begin Patch to *** End Patch."),))

WRITE_FILE = ToolSpec(
    "write_file", "edit",
    "Write a whole file (created, or replaced if it exists). Best for new or small files.",
    (_PATH, Param("content", "string", "The complete new content of the file.")))

SHELL = ToolSpec(
    "shell", "command",
    "Run a bash command in the repository root, inside a sandbox, and see its exit code and "
    "output (cut to its head and tail when long). Use it to run tests or scripts.",
    (Param("command", "string", "The bash command line, e.g. 'python -m pytest -q'."),))

# Edits first: small models lean to the first tools they are shown, and a task's named files
# are already in its message (hearth.agent.instructions.task_message), so an edit is usually the
# step to take.
ALL_TOOLS = (WRITE_FILE, APPLY_PATCH, LIST_FILES, READ_FILE, SEARCH, SHELL)
