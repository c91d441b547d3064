"""``hearth bench``: benchmarks that compare hearth with a reference measured in the same run.

The measuring lives in ``hearth.bench``; this module parses flags, prints the rich tables and
writes the JSON report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from hearth.bench.engine import BenchConfig, run_all
from hearth.cli.common import fail, one_line_errors, settings_with, stderr
from hearth.engines.model_files import resolve_model_path

BUSY_WARNING = 0.2  # background CPU share above which a system's numbers are flagged

app = typer.Typer(help="Benchmarks: hearth against references measured in the same run.",
                  no_args_is_help=True)


def parse_clients(text: str) -> tuple[int, ...]:
    """``"1,4,16"`` to ``(1, 4, 16)``; concurrency levels must be positive whole numbers."""
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers.") from None
    if not levels or min(levels) < 1:
        raise typer.BadParameter(f"{text!r}: give one or more client counts, each at least 1.")
    return levels


@app.command()
def engine(
    model: Annotated[Optional[str], typer.Option(
        help="Catalog id or .gguf path (default: HEARTH_MODEL, else the default chat model)."
    )] = None,
    threads: Annotated[Optional[int], typer.Option(
        min=1, help="CPU threads for every system (default: HEARTH_THREADS, else all cores)."
    )] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens asked of every request.")] = 64,
    clients: Annotated[str, typer.Option(help="Concurrency levels, comma-separated.")] = "1,4,16",
    requests_per_client: Annotated[int, typer.Option(
        min=1, help="Requests each client sends, back to back.")] = 3,
    parallel: Annotated[Optional[int], typer.Option(
        min=1, help="hearth's --parallel (default: HEARTH_PARALLEL, else 4).")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed sent with every request.")] = 1234,
    json_path: Annotated[Path, typer.Option(
        "--json", help="Where to write the JSON report.")] = Path("benchmarks/results/engine.json"),
    skip_peer: Annotated[bool, typer.Option(
        "--skip-peer", help="Do not run llama-cpp-python's server.")] = False,
) -> None:
    """Compare hearth serve with llama-cpp-python, in-process and behind its own server.

    Reports decode tokens/s and time to first token at 1 client, total tokens/s and
    p50/p95 latency at each higher level, and the ratios the goals are stated in.
    """
    levels = parse_clients(clients)
    with one_line_errors():
        settings = settings_with(model=model, threads=threads, parallel=parallel)
        config = BenchConfig(
            model_path=resolve_model_path(settings.model, settings.models_dir),
            threads=settings.threads, max_tokens=max_tokens, clients=levels,
            requests_per_client=requests_per_client, parallel=settings.parallel, seed=seed,
            skip_peer=skip_peer, hearth_engine=settings.engine,
        )
        stderr.print(f"Benchmarking {config.model_path} with {config.threads} thread(s), "
                     f"max_tokens {max_tokens}, clients {clients}", highlight=False)
        if settings.engine != "llamacpp":
            stderr.print(f"[yellow]note:[/] hearth serve runs the {settings.engine!r} engine "
                         "(HEARTH_ENGINE), so its numbers say nothing about llama.cpp.")
        report = run_all(config, log=lambda line: stderr.print(line, highlight=False))
    console = Console()
    console.print(results_table(report))
    console.print(goals_table(report))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"Report written to {json_path}", highlight=False, soft_wrap=True)
    for name, system in report["systems"].items():
        if (system["background_busy"] or 0) > BUSY_WARNING:
            stderr.print(f"[yellow]note:[/] other processes kept {system['background_busy']:.0%} "
                         f"of the CPUs busy just before {name} ran; its numbers may be low.",
                         highlight=False)
    failed = {name: s["error"] for name, s in report["systems"].items() if s["error"]}
    if failed:
        fail("; ".join(f"{name} was not measured: {error}" for name, error in failed.items()))


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def results_table(report: dict[str, Any]) -> Table:
    """One row per system and concurrency level, narrow enough for an 80-column terminal."""
    settings = report["settings"]
    table = Table(
        title=f"hearth bench engine: {Path(report['model']['path']).name}, "
              f"{settings['threads']} thread(s), max_tokens {settings['max_tokens']}",
        caption="tok/s: all completion tokens / wall time; decode: median per-request tokens/s "
                "after the first token; TTFT (p50), p50, p95: seconds per request",
        show_edge=False,
    )
    for column in ("system", "clients", "reqs", "errs", "tokens", "tok/s", "decode",
                   "TTFT", "p50", "p95"):
        table.add_column(column, justify="left" if column == "system" else "right",
                         no_wrap=True)
    for name, system in report["systems"].items():
        if system["error"]:
            table.add_row(name, *["-"] * 9)
        for level in system["levels"]:
            table.add_row(
                name, str(level["clients"]), str(level["requests"]), str(level["errors"]),
                str(level["completion_tokens"]), _num(level["total_tps"]),
                _num(level["decode_tps"]), _num(level["ttft_p50_s"], 2),
                _num(level["latency_p50_s"], 2), _num(level["latency_p95_s"], 2),
            )
    return table


def goals_table(report: dict[str, Any]) -> Table:
    """The issue's goals with the measured ratio; a dash where a side was not measured."""
    table = Table(title="goals (ratios against references from this run)", show_edge=False)
    for column in ("goal", "ratio", "measured", "target", "met"):
        table.add_column(column)
    for goal in report["goals"]:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[goal["met"]]
        table.add_row(goal["name"], goal["ratio"], _num(goal["measured"], 2), goal["target"], met)
    return table
