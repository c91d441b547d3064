"""``hearth serve``: the OpenAI-compatible HTTP server, in one process or several workers."""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
import uvicorn
from rich.markup import escape

from hearth.cli.common import fail, one_line_errors, settings_with, stderr
from hearth.config import Settings

if TYPE_CHECKING:
    from hearth.store.db import Database

# At the "warning" level uvicorn logs no requests, but unless its access log is off it still
# formats each request's line.
_SERVER_OPTIONS: dict[str, Any] = {
    "log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5,
}


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _access_line(db: Database, settings: Settings) -> str:
    """Say plainly who can call this server; refuse to be open beyond this machine."""
    from hearth.governance.tenancy import any_keys

    if any_keys(db):
        return "API keys required"
    if not _loopback(settings.host):
        fail(f"No API key exists, so this server would be open to anyone who can reach "
             f"{settings.host}. Create one first (hearth admin user create local <you> --role "
             "owner; hearth admin key create local <you>) or listen on 127.0.0.1.")
    return ("[bold yellow]open: no API keys exist yet, so anyone on this machine may call it"
            "[/]; create one with 'hearth admin key create' to require keys")


def _startup_lines(settings: Settings) -> tuple[str, str | None]:
    """What the database says before serving: who may call, and whether the stored memory
    vectors were made by another embedder than this hearth's (a line naming the fix)."""
    from hearth.memory.service import MemoryService
    from hearth.store.db import Database

    db = Database.from_settings(settings)
    db.migrate()
    try:
        access = _access_line(db, settings)
        vectors = MemoryService(db).vector_recipe_mismatch() if settings.memory else None
    finally:
        db.dispose()
    return access, vectors


def build_app(settings: Settings):
    """The API, with the web app at / unless turned off (HEARTH_WEB=false)."""
    from hearth.api.app import create_app

    app = create_app(settings)
    if settings.web:
        from hearth.web.app import mount_web

        mount_web(app)
    return app


def app_from_environment():
    """The app factory each worker process calls; settings arrive as HEARTH_* variables."""
    return build_app(Settings())


def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Catalog id or GGUF path.")] = None,
    engine: Annotated[Optional[str], typer.Option(
        help="Engine: llamacpp, upstream (HEARTH_UPSTREAM_URL) or fake.")] = None,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for the model.")] = None,
    parallel: Annotated[Optional[int], typer.Option(
        help="Sequences decoded together in one batch.")] = None,
    context_length: Annotated[Optional[int], typer.Option(help="Tokens per sequence.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="Server processes; each loads its own engine. Limits and usage are shared "
             "through the database.")] = None,
) -> None:
    """Serve the model behind an OpenAI-compatible API (/v1/chat/completions and more)."""
    with one_line_errors():
        settings = settings_with(host=host, port=port, model=model, engine=engine,
                                 threads=threads, parallel=parallel,
                                 context_length=context_length, workers=workers)
        access, vectors = _startup_lines(settings)
        if vectors:
            stderr.print(f"[bold yellow]note:[/] {escape(vectors)}", soft_wrap=True,
                         highlight=False)
        where = (f"http://{settings.host}:{settings.port}/v1 ({access}); "
                 f"data in {settings.home}")
        if settings.workers == 1:
            app = build_app(settings)
            stderr.print(f"hearth serving [bold]{app.state.engine.model_id}[/] on {where}",
                         soft_wrap=True, highlight=False)
            uvicorn.run(app, host=settings.host, port=settings.port, **_SERVER_OPTIONS)
            return
        # Worker processes build their own app from the environment: hand the flags on.
        for name, value in settings.model_dump(exclude_defaults=True).items():
            os.environ[f"HEARTH_{name.upper()}"] = str(value)
        stderr.print(f"hearth serving [bold]{settings.model}[/] with {settings.workers} "
                     f"workers on {where}", soft_wrap=True, highlight=False)
        uvicorn.run("hearth.cli.serve:app_from_environment", factory=True, host=settings.host,
                    port=settings.port, workers=settings.workers, **_SERVER_OPTIONS)
