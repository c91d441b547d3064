"""``hearth bench``: benchmarks that compare hearth with a reference measured in the same run.

The measuring lives in ``hearth.bench``; this module parses flags, prints the rich tables and
writes the JSON report.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from hearth.bench.agent_loop import run_agent_loops
from hearth.bench.engine import BenchConfig, run_all
from hearth.cli.common import fail, one_line_errors, settings_with, stderr
from hearth.engines.model_files import resolve_model_path

BUSY_WARNING = 0.1  # CPU share used by other processes above which a system is flagged

app = typer.Typer(help="Benchmarks: hearth against references measured in the same run.",
                  no_args_is_help=True)


class EngineCase(str, Enum):
    all = "all"
    load = "load"
    agent_loop = "agent-loop"


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
    case: Annotated[EngineCase, typer.Option(
        help="load: hearth against llama-cpp-python at each concurrency level; agent-loop: ten "
             "turns of a 4,000-token agent conversation, with and without the prefix cache, "
             "through /v1/chat/completions and /v1/responses.")] = EngineCase.all,
) -> None:
    """Compare hearth serve with llama-cpp-python, in-process and behind its own server, and
    time an agent's turns.

    Reports decode tokens/s and time to first token at 1 client, total tokens/s and
    p50/p95 latency at each higher level, the agent loop's time to first token per turn, and
    the ratios the goals are stated in.
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
        log = lambda line: stderr.print(line, highlight=False)  # noqa: E731
        report = run_all(config, log, load=case != EngineCase.agent_loop)
        if case != EngineCase.load:
            report["agent_loop"] = run_agent_loops(config, log)
            report["goals"] += report["agent_loop"]["goals"]
    console = Console()
    if report["systems"]:
        console.print(results_table(report))
    if "agent_loop" in report:
        console.print(agent_loop_table(report["agent_loop"]))
    console.print(goals_table(report, "goals (ratios against references from this run)"))
    write_report(console, report, json_path)
    warn_if_busy(report, "its numbers are likely low and the ratios against it skewed.")
    fail_if_unmeasured(report)


def agent_loop_table(agent_loop: dict[str, Any]) -> Table:
    """Time to first token per turn of each loop, with the share of the prompt cached."""
    loops = agent_loop["loops"]
    table = Table(title=f"agent loop: {agent_loop['turns']} turns, time to first token (s)",
                  caption="cached: prompt tokens whose KV cache was reused", show_edge=False)
    table.add_column("turn", justify="right")
    table.add_column("prompt", justify="right")
    for name in loops:
        table.add_column(name, justify="right")
        table.add_column("cached", justify="right")
    for turn in range(agent_loop["turns"]):
        cells = []
        prompt = "-"
        for loop in loops.values():
            timing = loop["turns"][turn] if turn < len(loop["turns"]) else None
            prompt = str(timing["prompt_tokens"]) if timing and prompt == "-" else prompt
            cells += [num_cell(timing and timing["ttft_s"], 2),
                      str(timing["cached_tokens"]) if timing else "-"]
        table.add_row(str(turn + 1), prompt, *cells)
    table.add_row("tok/s", "", *[cell for loop in loops.values()
                                 for cell in (num_cell(loop["tokens_per_s"]), "")])
    return table


def write_report(console: Console, report: dict[str, Any], json_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"Report written to {json_path}", highlight=False, soft_wrap=True)


def warn_if_busy(report: dict[str, Any], effect: str) -> None:
    """Warn about each system measured while other processes took the CPU; ``effect`` says
    what that did to its figures."""
    for name, system in report["systems"].items():
        if (system["others_cpu_share"] or 0) > BUSY_WARNING:
            stderr.print(f"[yellow]note:[/] other processes used {system['others_cpu_share']:.0%}"
                         f" of the CPUs while {name} was measured; {effect} Rerun on a quiet "
                         "machine.", highlight=False)


def fail_if_unmeasured(report: dict[str, Any]) -> None:
    """Exit with status 1 if a system could not be measured; one skipped on request
    ("skipped (…)") was never meant to be."""
    failed = {name: s["error"] for name, s in report.get("systems", {}).items()
              if s["error"] and not s["error"].startswith("skipped")}
    if failed:
        fail("; ".join(f"{name} was not measured: {error}" for name, error in failed.items()))


def num_cell(value: float | None, digits: int = 1) -> str:
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
                str(level["completion_tokens"]), num_cell(level["total_tps"]),
                num_cell(level["decode_tps"]), num_cell(level["ttft_p50_s"], 2),
                num_cell(level["latency_p50_s"], 2), num_cell(level["latency_p95_s"], 2),
            )
    return table


MET = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}


def goals_table(report: dict[str, Any], title: str, digits: int = 2) -> Table:
    """A benchmark's goals as measured (with the deciding ratio where it reports one); a dash
    where a side was not measured."""
    with_ratio = any("ratio" in goal for goal in report["goals"])
    table = Table(title=title, show_edge=False)
    for column in ("goal", *(("ratio",) if with_ratio else ()), "measured", "target", "met"):
        table.add_column(column)
    for goal in report["goals"]:
        table.add_row(goal["name"], *((goal["ratio"],) if with_ratio else ()),
                      num_cell(goal["measured"], digits), goal["target"], MET[goal["met"]])
    return table


# --- hearth bench gateway --------------------------------------------------------------------
# The gateway benchmark's command and tables; the measuring lives in hearth.bench.gateway.


@app.command("gateway")
def gateway_command(
    clients: Annotated[str, typer.Option(help="Concurrency levels, comma-separated.")] =
    "1,16,64,256",
    duration: Annotated[int, typer.Option(min=1, help="Seconds of load per level.")] = 10,
    warmup: Annotated[int, typer.Option(min=1, help="Seconds of warm-up per system.")] = 2,
    threads: Annotated[int, typer.Option(min=1, help="wrk threads (at most one per client).")]
    = 1,
    workers: Annotated[int, typer.Option(
        min=1, help="hearth serve --workers for the measured hearth.")] = 2,
    litellm: Annotated[Optional[Path], typer.Option(
        help="The litellm command (default: beside this Python, else on PATH).")] = None,
    skip_litellm: Annotated[bool, typer.Option(
        "--skip-litellm", help="Do not run LiteLLM's proxy.")] = False,
    kill_test: Annotated[bool, typer.Option(
        help="Also SIGKILL a hearth worker under load and check the server goes on.")] = True,
    kill_duration: Annotated[int, typer.Option(
        min=2, help="Seconds of load in the kill test; the kill comes halfway.")] = 6,
    json_path: Annotated[Path, typer.Option(
        "--json", help="Where to write the JSON report.")] = Path(
        "benchmarks/results/gateway.json"),
) -> None:
    """What hearth adds in front of an instant OpenAI-compatible upstream, against LiteLLM's
    proxy in the same run, driven by wrk.

    Reports requests/s, p50 and p99 latency and failed requests per system and concurrency
    level, the latency each gateway adds over calling the upstream directly, hearth/LiteLLM
    requests/s, and the issue's goals.
    """
    from hearth.bench.gateway import GatewayConfig
    from hearth.bench.gateway import run_all as run_gateway

    config = GatewayConfig(clients=parse_clients(clients), duration_s=duration,
                           warmup_s=warmup, wrk_threads=threads, hearth_workers=workers,
                           litellm=litellm, skip_litellm=skip_litellm, kill_test=kill_test,
                           kill_duration_s=kill_duration)
    with one_line_errors():
        report = run_gateway(config, log=lambda line: stderr.print(line, highlight=False))
    console = Console()
    console.print(gateway_table(report))
    console.print(goals_table(report, "goals (LiteLLM and the upstream measured in this run)"))
    if not report["settings"]["keys"]:
        stderr.print("[yellow]note:[/] hearth has no API keys yet (no `hearth admin`), so it "
                     "ran without keys, quotas or usage metering.", highlight=False)
    write_report(console, report, json_path)
    warn_if_busy(report, "its numbers are likely low.")
    fail_if_unmeasured(report)


def gateway_table(report: dict[str, Any]) -> Table:
    """One row per system and level; "added" is the system's latency minus the upstream's."""
    settings = report["settings"]
    table = Table(
        title=f"hearth bench gateway: {settings['duration_s']} s per level, wrk "
              f"{settings['wrk_threads']} thread(s), keys {'on' if settings['keys'] else 'off'}",
        caption="ms per request; added: minus the upstream alone at the same concurrency; "
                "failed: non-2xx answers, socket errors and timeouts",
        show_edge=False,
    )
    for column in ("system", "clients", "req/s", "p50", "p99", "added p50", "added p99",
                   "failed"):
        table.add_column(column, justify="left" if column == "system" else "right",
                         no_wrap=True)
    for name, system in report["systems"].items():
        if system["error"]:
            table.add_row(name, "-", "-", "-", "-", "-", "-", system["error"][:40])
        for level in system["levels"]:
            added = report["added_ms"].get(name, {}).get(str(level["clients"]), {})
            failed = level["non_2xx"] + level["socket_errors"] + level["timeouts"]
            table.add_row(name, str(level["clients"]), num_cell(level["requests_per_s"]),
                          num_cell(level["p50_ms"], 2), num_cell(level["p99_ms"], 2),
                          num_cell(added.get("p50_ms"), 2), num_cell(added.get("p99_ms"), 2),
                          str(failed))
        table.add_section()
    return table
