"""The ``hearth`` command: one small module per command group."""

from __future__ import annotations

import typer

from hearth.cli import (admin, bench, bench_code, bench_memory, bench_tune, chat, code, memory,
                        models, serve, tune)

app = typer.Typer(
    name="hearth",
    help="Self-hosted AI on open-weight models: serve, chat, code, memories, models, tune, "
         "admin, bench.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.add_typer(models.app, name="models")
bench.app.command("code")(bench_code.code_command)
bench.app.command("tune")(bench_tune.tune_command)
bench.app.command("memory")(bench_memory.memory_command)
app.add_typer(bench.app, name="bench")
app.add_typer(memory.app, name="memory")
app.add_typer(admin.app, name="admin")
app.add_typer(code.app, name="code")
app.add_typer(tune.app, name="tune")
