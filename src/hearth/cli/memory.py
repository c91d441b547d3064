"""``hearth memory``: see, search, forget, export and import what hearth remembers.

The commands work on the local database directly (the one ``hearth serve`` and ``hearth chat``
use), as one user: ``--user`` (or ``HEARTH_USER``), "local" by default, the same user
``hearth chat`` talks as, in the org ``--org`` (or ``HEARTH_ORG``), "local" by default.
Exports and deletions go on the audit log, as the operator's. ``reembed`` alone works on every
user's memories: the embedding model is the database's, not a user's.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column, Table

from hearth.api.memories.protocol import MemoryExport, MemoryObject
from hearth.cli.common import fail, one_line_errors, operator_actor
from hearth.cli.listing import AsJson, print_listing
from hearth.config import Settings
from hearth.governance import audit
from hearth.memory.service import MemoryService
from hearth.store import memories as store
from hearth.store import memory_export
from hearth.store.bounds import MAX_STORED_INT
from hearth.store.db import Database
from hearth.store.memories import MemoryRecord, Owner

app = typer.Typer(help="See, search, forget, export, import and re-embed memories.",
                  no_args_is_help=True)

User = Annotated[str, typer.Option("--user", envvar="HEARTH_USER",
                                   help="Whose memories (as in `hearth chat --user`).")]
Org = Annotated[str, typer.Option("--org", envvar="HEARTH_ORG", help="The user's organisation.")]


def _database() -> Database:
    db = Database.from_settings(Settings())
    db.migrate()
    return db


def _audit(db: Database, action: str, owner: Owner, details: dict) -> None:
    audit.record_on_user(db, actor=operator_actor(), action=action, owner=owner,
                         details=details)


def _day(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d}" if when else ""


def _columns(*extra: str) -> list[str | Column]:
    return [Column("id", justify="right"), "kind", "when", Column("text", ratio=1), "pinned",
            *extra]


def _table(*extra: str) -> Table:
    return Table(*_columns(*extra), expand=True)


def _row(memory: MemoryRecord) -> list[str]:
    return [str(memory.id), memory.kind, _day(memory.observed_at), memory.text,
            "yes" if memory.pinned else ""]


def _superseded(memory: MemoryRecord) -> str:
    if memory.current:
        return ""
    by = f" by {memory.superseded_by}" if memory.superseded_by else ""
    return f"{_day(memory.valid_to)}{by}"


@app.command("list")
def list_memories(
    user: User = "local",
    org: Org = "local",
    all_: Annotated[bool, typer.Option("--all", help="Include superseded memories.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_STORED_INT,
                                       help="Show at most this many.")] = 100,
    as_json: AsJson = False,
) -> None:
    """Show a user's memories, newest first."""
    with one_line_errors():
        records = store.list_memories(_database(), Owner(org, user), include_superseded=all_,
                                      limit=limit)
    if not records and not as_json:
        Console().print(f"No memories of {user!r} yet.", highlight=False)
        return
    rows = [_row(memory) + ([_superseded(memory)] if all_ else []) for memory in records]
    print_listing(_columns("superseded") if all_ else _columns(), rows,
                  [MemoryObject.from_record(memory) for memory in records], as_json=as_json,
                  expand=True)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words or a question.")],
    user: User = "local",
    org: Org = "local",
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """Find memories the way the assistant recalls them (words, meaning, time)."""
    if not query.strip():  # it would match nothing and rank every memory by age alone
        fail("Give words or a question to search for; `hearth memory list` shows them all.")
    with one_line_errors():
        hits = MemoryService(_database()).recall(Owner(org, user), query, limit=limit)
    console = Console()
    if not hits:
        console.print(f"Nothing in {user!r}'s memories matches.", highlight=False)
        return
    table = _table("score")
    for hit in hits:
        table.add_row(*_row(hit.memory), f"{hit.score:.3f}")
    console.print(table)


@app.command()
def forget(
    memory_id: Annotated[Optional[int], typer.Argument(
        min=1, max=MAX_STORED_INT, help="Id shown by `hearth memory list`.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Forget everything about the user.")] = False,
    user: User = "local",
    org: Org = "local",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --all.")] = False,
) -> None:
    """Delete a memory (or all of a user's) for good, from every table and index."""
    if (memory_id is None) == (not all_):
        fail("Name one memory id to forget, or --all to forget everything about the user.")
    with one_line_errors():
        db, owner = _database(), Owner(org, user)
        if memory_id is not None:
            store.delete_memory(db, owner, memory_id)
            _audit(db, "memory.delete", owner, {"memory_id": memory_id})
            typer.echo(f"Forgot memory {memory_id}.")
            return
        if not yes:
            count = store.count_memories(db, owner)
            typer.confirm(f"Forget all of {user!r}'s memories ({count} current)? "
                          "This cannot be undone.", abort=True)
        count = store.delete_all(db, owner)
        _audit(db, "memory.delete_all", owner, {"memories": count})
        typer.echo(f"Forgot {count} memories of {user!r}.")


@app.command("export")
def export_memories(
    user: User = "local",
    org: Org = "local",
    output: Annotated[Optional[Path], typer.Option("--output", "-o",
                                                   help="File to write; default: stdout.")] = None,
) -> None:
    """Write all of a user's memories, history and sources included, as JSON."""
    with one_line_errors():
        db, owner = _database(), Owner(org, user)
        records = memory_export.all_memories(db, owner)
        _audit(db, "memory.export", owner, {"memories": len(records)})
    document = MemoryExport.from_records(records).model_dump_json(indent=2)
    if output is None:
        sys.stdout.write(document + "\n")
        return
    output.write_text(document + "\n", encoding="utf-8")
    typer.echo(f"Exported {len(records)} memories of {user!r} to {output}.")


@app.command("import")
def import_memories(
    file: Annotated[Path, typer.Argument(help="A file written by `hearth memory export`.")],
    user: User = "local",
    org: Org = "local",
) -> None:
    """Add the memories of an export file to a user's; ones already there are skipped."""
    try:
        document = MemoryExport.model_validate_json(file.read_bytes())
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror}.")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        fail(f"{file} is not a hearth memory export ({where}: {first['msg']}).")
    with one_line_errors():
        service = MemoryService(_database())
        # Into a new database, this records the recipe of the vectors about to be written.
        if vectors := service.vector_recipe_mismatch():
            typer.echo(f"note: {vectors}", err=True)
        result = memory_export.import_memories(
            service.db, Owner(org, user), [m.to_portable() for m in document.memories],
            service.embed_memories)
    typer.echo(f"Imported {result.imported} memories for {user!r}"
               f" ({result.skipped} already there).")


@app.command()
def reembed() -> None:
    """Embed every user's memories again with this hearth's embedding model.

    Run it once after an upgrade whose embedding model differs (this one has int8 weights):
    memories keep being recalled without it, by vectors a little off the new ones.
    """
    with one_line_errors():
        service = MemoryService(_database())
        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True,
                      disable=not console.is_terminal) as bar:
            task = bar.add_task("Embedding memories", total=store.count_all(service.db))
            replaced = service.embed_all_again(progress=lambda count: bar.advance(task, count))
    typer.echo(f"Embedded {replaced} memories again.")
