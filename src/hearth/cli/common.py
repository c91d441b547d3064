"""What every command shares: settings from env vars overridden by flags, and one-line errors."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from hearth.config import Settings
from hearth.errors import HearthError

stderr = Console(stderr=True)


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags that were given taking precedence."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)


def api_base(url: str) -> str:
    """A server's address as the ``openai`` SDK wants it: ending in ``/v1``, whether the user
    gave the server's root or its API base."""
    base = url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def fail(message: str) -> NoReturn:
    # Messages can quote what the user typed: never read them as markup.
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Show hearth's own errors as one line with the fix, never as a traceback."""
    try:
        yield
    except HearthError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        sys.exit(130)


def login_name(default: str = "unknown") -> str:
    """Who is at this machine's command line, by their login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return default


def operator_actor() -> str:
    """How the audit log names someone acting at this machine's command line."""
    return f"operator {login_name()} (cli)"
