"""How every ``list`` command prints: a table for people, whole values for scripts.

On a terminal a Rich table fits the screen, shortening long cells (``key_0cd…``). A script
needs every id whole, so when stdout is not a terminal the same rows are printed as
tab-separated lines, header first; ``--json`` prints each item as one JSON object per line,
in the shape the HTTP API answers with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Column, Table

AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line, for scripts.")]


def print_listing(columns: Sequence[str | Column], rows: Sequence[Sequence[str]],
                  items: Sequence[BaseModel], *, as_json: bool, expand: bool = False) -> None:
    """Print ``rows`` under ``columns`` (or ``items`` as JSON lines with ``as_json``)."""
    if as_json:
        for item in items:
            typer.echo(item.model_dump_json())
        return
    console = Console()
    if not console.is_terminal:
        header = [c.header if isinstance(c, Column) else c for c in columns]
        for line in (header, *rows):
            typer.echo("\t".join(str(cell).replace("\t", " ").replace("\n", " ")
                                 for cell in line))
        return
    table = Table(*columns, expand=expand)
    for row in rows:
        table.add_row(*row)
    console.print(table)
