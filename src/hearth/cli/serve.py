"""``hearth serve``: the OpenAI-compatible HTTP server."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
import uvicorn

from hearth.cli.common import one_line_errors, settings_with, stderr


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
) -> None:
    """Serve the model behind an OpenAI-compatible API (/v1/chat/completions and more)."""
    with one_line_errors():
        settings = settings_with(host=host, port=port, model=model, engine=engine,
                                 threads=threads, parallel=parallel,
                                 context_length=context_length)
        from hearth.api.app import create_app

        app = create_app(settings)
        auth = "API key required" if settings.api_key else "open: no API key set, keep it on 127.0.0.1"
        stderr.print(
            f"hearth serving [bold]{app.state.engine.model_id}[/] on "
            f"http://{settings.host}:{settings.port}/v1 ({auth}); data in {settings.home}",
            soft_wrap=True,
            highlight=False,
        )
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    timeout_graceful_shutdown=5)
