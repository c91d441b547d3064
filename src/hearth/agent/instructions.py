"""What the model is told before the task: its rules, the project's AGENTS.md and a map.

Small models forget the task and lose themselves in a large tree, so the instructions are short
and concrete: one action per turn, read before you edit, finish with ``finish``. The project's
own ``AGENTS.md`` files (from the git root down to the working folder, as Codex reads them) come
next, bounded, and a cut is always said. A compact map of the repository saves the first turns
of blind listing.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from hearth.agent.tools.files import repository_files

AGENTS_FILE = "AGENTS.md"
AGENTS_BUDGET_CHARS = 8_000  # all AGENTS.md files together
MAP_BUDGET_CHARS = 3_000
NAMED_FILES_BUDGET_CHARS = 12_000

RULES = """\
You are hearth code, a coding agent working in a code repository.
You act only through the tools. Each reply is exactly one tool call.
Paths are relative to the repository's root.
- Read a file before you change it.
- Make the smallest change that does the task. Keep the code's style.
- To change a file, prefer write_file with the whole new content for a small file, or
  apply_patch for a small edit in a large one.
- When a command or an edit fails, read the error and change something before trying again.
- When the task is done (or cannot be done), call finish with a short summary of what you did."""


def git_root(start: Path) -> Path | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start,
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def agents_files(root: Path, cwd: Path) -> list[Path]:
    """``AGENTS.md`` from ``root`` down to ``cwd``, outermost first (the nearer one speaks last,
    so it wins where they disagree)."""
    cwd = cwd.resolve()
    root = root.resolve()
    folders = [root]
    if cwd != root and root in cwd.parents:
        folders += [p for p in reversed(cwd.parents) if root in p.parents] + [cwd]
    return [f / AGENTS_FILE for f in folders if (f / AGENTS_FILE).is_file()]


def agents_text(root: Path, cwd: Path, budget: int = AGENTS_BUDGET_CHARS) -> str:
    parts, left = [], budget
    for path in agents_files(root, cwd):
        text = path.read_text(errors="replace").strip()
        name = path.relative_to(root.resolve()).as_posix()
        if len(text) > left:
            text = (text[:max(left, 0)] + f"\n[{name} cut here: {len(text) - max(left, 0)} more "
                    "characters; read the file with read_file for the rest]")
        parts.append(f"--- {name} ---\n{text}")
        left -= len(text)
        if left <= 0:
            break
    return "\n".join(parts)


def _python_names(path: Path) -> list[str]:
    """Top-level classes and functions of a Python file: what a model most often looks for."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def repository_map(root: Path, budget: int = MAP_BUDGET_CHARS) -> str:
    """One line per file (with a Python file's top-level names), cut to ``budget`` and saying
    how many files were left out."""
    files = repository_files(root)
    lines: list[str] = []
    used = 0
    for index, name in enumerate(files):
        names = _python_names(root / name) if name.endswith(".py") else []
        line = f"{name}: {', '.join(names)}" if names else name
        if used + len(line) + 1 > budget:
            lines.append(f"[{len(files) - index} more files not shown; use list_files]")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def system_prompt(root: Path, cwd: Path | None = None, extra: str = "") -> str:
    """The first message of a session: rules, the project's instructions, the map."""
    parts = [RULES]
    agents = agents_text(root, cwd or root)
    if agents:
        parts.append("The project's instructions (AGENTS.md):\n" + agents)
    if extra:
        parts.append(extra)
    repo_map = repository_map(root)
    if repo_map:
        parts.append("Files in the repository:\n" + repo_map)
    return "\n\n".join(parts)


def task_message(root: Path, task: str, budget: int = NAMED_FILES_BUDGET_CHARS) -> str:
    """The task, followed by the files it names (by path or by file name), as Aider adds files
    to its chat: a small model then starts from the code instead of searching for it."""
    words = set(re.findall(r"[\w./-]+", task))
    named = [name for name in repository_files(root)
             if name in words or Path(name).name in words]
    parts, left = [task], budget
    for name in named:
        text = (root / name).read_text(errors="replace")
        if len(text) > left:
            parts.append(f"[{name} is too long to show here: read it with read_file]")
            continue
        parts.append(f"--- {name} ---\n{text.rstrip()}")
        left -= len(text)
    return "\n\n".join(parts)
