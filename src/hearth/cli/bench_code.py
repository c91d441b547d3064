"""``hearth bench code``: hearth code and its peers on Exercism exercises, in one run.

The measuring lives in ``hearth.bench.code`` and ``hearth.bench.code_peers``; this module
starts the server they share, runs the systems asked for, prints the table and writes JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from hearth.agent.model import OpenAIModel
from hearth.agent.session import Limits
from hearth.bench import code as bench
from hearth.bench.code_peers import AIDER, MINI, PeerUnavailable, installed, run_aider, run_mini
from hearth.bench.engine import (
    BenchConfig, free_port, hearth_command, hearth_env, running_server,
)
from hearth.bench.exercism import load
from hearth.bench.machine import machine_info
from hearth.cli.bench import goals_table, write_report
from hearth.cli.common import api_base, fail, one_line_errors, settings_with, stderr
from hearth.engines.model_files import resolve_model_path

SYSTEMS = ("agentic", "aider-comparable", "aider", "mini-swe-agent")
AIDER_GOAL = 1.5  # hearth code (agentic) solves at least 1.5x Aider's pass@2
DEFAULT_EXERCISES = Path("../shared/data/exercism-python-dev")


@contextmanager
def started_server(config: BenchConfig) -> Iterator[str]:
    """A ``hearth serve`` started as the engine benchmark starts it; yields its API base."""
    port = free_port()
    with running_server(hearth_command(config, port), port, "/healthz",
                        env=hearth_env()) as base:
        yield base + "/v1"


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    summaries = {name: s["summary"] for name, s in report["systems"].items()}
    agentic = (summaries.get("agentic") or {}).get("pass_2")
    found = []

    def goal(name: str, ratio: str, target: str, measured: float | None, ok: bool | None) -> None:
        found.append({"name": name, "ratio": ratio, "target": target, "measured": measured,
                      "met": ok})

    aider = (summaries.get("aider") or {}).get("pass_2")
    if agentic is not None and aider is not None:
        # Aider solving nothing leaves no ratio: any solved exercise then beats it.
        ratio = agentic / aider if aider else None
        goal(f"hearth code solves >= {AIDER_GOAL}x Aider's pass@2", "agentic_vs_aider_pass2",
             f">= {AIDER_GOAL}", ratio, ratio >= AIDER_GOAL if ratio is not None else agentic > 0)
    mini = (summaries.get("mini-swe-agent") or {}).get("pass_2")
    if agentic is not None and mini is not None:
        goal("hearth code solves more than mini-swe-agent", "agentic_minus_mini_pass2", "> 0",
             agentic - mini, agentic > mini)
    formed = (summaries.get("agentic") or {}).get("well_formed_calls")
    if formed is not None:
        goal("well-formed tool calls >= 98%", "agentic_well_formed_calls", ">= 0.98", formed,
             formed >= 0.98)
    return found


def table(report: dict[str, Any]) -> Table:
    out = Table(title="hearth bench code")
    for column in ("system", "exercises", "pass@1", "pass@2", "tokens/solved",
                   "median s (solved)", "well-formed calls", "error"):
        out.add_column(column)
    for name, system in report["systems"].items():
        s = system["summary"]
        pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
        num = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
        out.add_row(name, str(s["exercises"]), pct(s["pass_1"]), pct(s["pass_2"]),
                    num(s["tokens_per_solved"]), num(s["median_wall_s_solved"]),
                    pct(s["well_formed_calls"]), system["error"] or "")
    return out


def code_command(
    model: Annotated[Optional[str], typer.Option(
        help="Catalog id or .gguf path for the server (default: HEARTH_MODEL).")] = None,
    url: Annotated[Optional[str], typer.Option(
        help="Use this running OpenAI-compatible server instead of starting hearth serve.")] = None,
    exercises: Annotated[Path, typer.Option(help="The Exercism exercises.")] = DEFAULT_EXERCISES,
    sample: Annotated[Optional[int], typer.Option(min=1, help="A seeded sample of N.")] = None,
    seed: Annotated[int, typer.Option(help="The sample's seed.")] = 0,
    systems: Annotated[str, typer.Option(
        help=f"Comma-separated, of: {', '.join(SYSTEMS)}.")] = ",".join(SYSTEMS),
    max_steps: Annotated[int, typer.Option(min=1, help="Agent steps per attempt.")] = 20,
    max_seconds: Annotated[float, typer.Option(min=10, help="Seconds per attempt.")] = 600.0,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Server CPU threads.")] = None,
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the JSON report.")]
        = Path("benchmarks/results/code.json"),
) -> None:
    """Coding agents on Exercism's Python exercises, same model, same server, one run.

    hearth code runs agentic (it may run the tests) and aider-comparable (no tests, one retry
    with their output); Aider (whole format) and mini-swe-agent run beside it, each installed
    into a virtual environment of its own on first use.
    """
    chosen = [s.strip() for s in systems.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown:
        raise typer.BadParameter(f"Unknown system(s) {', '.join(unknown)}: choose from "
                                 f"{', '.join(SYSTEMS)}.", param_hint="--systems")
    log = lambda line: stderr.print(line, highlight=False)  # noqa: E731
    with one_line_errors():
        settings = settings_with(model=model, threads=threads)
        found = load(exercises, sample=sample, seed=seed)
        serving = nullcontext(api_base(url)) if url else started_server(BenchConfig(
            model_path=resolve_model_path(settings.model, settings.models_dir),
            threads=settings.threads, parallel=settings.parallel, hearth_engine=settings.engine))
        log(f"{len(found)} exercise(s), systems: {', '.join(chosen)}")
        runs = []
        with serving as base:
            model_id = OpenAIModel(base, None).model
            meter = bench.TokenMeter(base)
            limits = Limits(max_steps=max_steps, max_seconds=max_seconds)
            for name in chosen:
                run = bench.SystemRun(name, _description(name))
                try:
                    one = _system(name, base, model_id, meter, limits)
                except PeerUnavailable as exc:
                    run.error = exc.message
                    runs.append(run)
                    continue
                runs.append(bench.run_system(run, found, one, log))
    report = {"benchmark": "code", "machine": machine_info(("openai",)), "model": model_id,
              **bench.report(runs, {"exercises": [e.name for e in found], "sample": sample,
                                    "seed": seed, "max_steps": max_steps,
                                    "max_seconds": max_seconds})}
    report["goals"] = goals(report)
    console = Console()
    console.print(table(report))
    if report["goals"]:
        console.print(goals_table(report, "goals (this run)"))
    write_report(console, report, json_path)
    if all(run.error for run in runs):
        fail("No system was measured.")


def _description(name: str) -> str:
    return {"agentic": "hearth code; runs the tests itself",
            "aider-comparable": "hearth code; no tests, one retry with their output",
            "aider": f"{AIDER.requirement}, whole edit format, one retry",
            "mini-swe-agent": f"{MINI.requirement}, default config, runs the tests itself"}[name]


def _system(name: str, base: str, model_id: str, meter: bench.TokenMeter, limits: Limits):
    if name in ("agentic", "aider-comparable"):
        config = bench.HearthCodeConfig(base, model_id, name == "agentic", limits)
        return lambda exercise, workdir: bench.run_hearth_code(config, exercise, workdir, meter)
    if name == "aider":
        command = installed(AIDER)
        return lambda exercise, workdir: run_aider(command, base, model_id, exercise, workdir,
                                                   meter, limits.max_seconds)
    command = installed(MINI)
    return lambda exercise, workdir: run_mini(command, base, model_id, exercise, workdir, meter,
                                              limits.max_seconds, limits.max_steps)
