"""Who says yes before the agent acts: the approval policies of Codex CLI.

- ``untrusted``: ask before every edit and every command;
- ``on-request``: edits inside the workspace go ahead (the sandbox bounds them), commands ask
  unless they only read (``ls``, ``cat``, ``git diff``, ...);
- ``never``: never ask; whatever the sandbox refuses simply fails.

Reads never ask. A denial is told to the model as the tool's result, so it can try another way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from enum import StrEnum
from typing import Any

# Commands that only look: run without asking under ``on-request``.
READ_ONLY_COMMANDS = {"ls", "cat", "head", "tail", "wc", "grep", "rg", "find", "pwd", "echo",
                      "tree", "file", "stat", "diff", "sort", "uniq", "which", "true"}
READ_ONLY_GIT = {"status", "diff", "log", "show", "branch", "ls-files", "blame", "grep"}
_CHAINING = re.compile(r"[;&|<>`$()]")


class ApprovalPolicy(StrEnum):
    UNTRUSTED = "untrusted"
    ON_REQUEST = "on-request"
    NEVER = "never"


Ask = Callable[[Any], bool]  # shown a Proposal, answers yes or no


def only_reads(command: str) -> bool:
    """True for a single command that cannot change anything (no pipes, redirects or chains)."""
    if _CHAINING.search(command):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if not words:
        return True
    if words[0] == "git":
        return len(words) > 1 and words[1] in READ_ONLY_GIT
    return words[0] in READ_ONLY_COMMANDS


def needs_approval(policy: ApprovalPolicy, kind: str, command: str | None = None) -> bool:
    """Whether a proposal of ``kind`` ("read", "edit", "command") must be approved first."""
    if policy is ApprovalPolicy.NEVER or kind == "read":
        return False
    if policy is ApprovalPolicy.UNTRUSTED:
        return True
    return kind == "command" and not only_reads(command or "")
