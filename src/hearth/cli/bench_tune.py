"""``hearth bench tune``: made-up facts taught to a model with hearth's fine-tuning, in one run.

The measuring lives in ``hearth.bench.tune``; this module parses flags, shows training's progress,
prints the tables and writes the JSON report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hearth.bench import tune as bench
from hearth.cli.bench import goals_table, write_report
from hearth.cli.common import one_line_errors, settings_with, stderr
from hearth.engines.model_files import resolve_model_path
from hearth.tune.train import Progress as TrainProgress


def tune_command(
    model: Annotated[Optional[str], typer.Option(
        help="Catalog id or .gguf path of the base (default: HEARTH_MODEL).")] = None,
    facts: Annotated[int, typer.Option(
        min=1, help="Made-up facts to teach.")] = bench.Settings.facts,
    epochs: Annotated[int, typer.Option(
        min=1, help="Passes over the facts.")] = bench.Settings.epochs,
    learning_rate: Annotated[float, typer.Option(
        min=0, help="LoRA learning rate.")] = bench.Settings.learning_rate,
    skip_reference: Annotated[bool, typer.Option(
        "--skip-reference", help="Do not time the plain peft script.")] = False,
    threads: Annotated[Optional[int], typer.Option(
        min=1, help="llama.cpp threads for the probe and decode (default: all cores).")] = None,
    json_path: Annotated[Path, typer.Option(
        "--json", help="Where to write the JSON report.")] = Path("benchmarks/results/tune.json"),
) -> None:
    """Teach the base made-up facts with LoRA (hearth's own trainer), then ask them of the base
    and the tuned model through llama.cpp.

    Reports exact answers (tuned and base), training wall time and peak memory, training
    tokens/s against a plain peft + transformers loop timed in the same run, and decode
    tokens/s with and without the adapter through hearth's engine.
    """
    settings = bench.Settings(facts=facts, epochs=epochs, learning_rate=learning_rate,
                              threads=threads)
    with one_line_errors():
        config = settings_with(model=model)
        base = resolve_model_path(config.model, config.models_dir)
        with tempfile.TemporaryDirectory(prefix="hearth-bench-tune-") as work, \
                _bar() as bar:
            task = bar.add_task("training", total=None)

            def show(progress: TrainProgress) -> None:
                bar.update(task, completed=progress.step, total=progress.total_steps,
                           description=f"training (loss {progress.loss:.3f}, "
                                       f"{progress.tokens_per_second:.0f} tokens/s)")

            report = bench.run_bench(base, settings, Path(work), skip_reference, show)
    console = Console()
    console.print(table(report))
    console.print(goals_table(report, "goals (this run)", digits=3))
    write_report(console, report, json_path)


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total} steps"), TimeRemainingColumn(),
                    console=stderr)


def table(report: dict[str, Any]) -> Table:
    """The run's figures, one per row."""
    training, probe = report["training"], report["probe"]
    throughput, decode = report["throughput"] or {}, report["decode"]
    rows = [
        ("facts", str(probe["questions"])),
        ("tuned exact answers", f"{probe['tuned_correct']}/{probe['questions']}"),
        ("base exact answers", f"{probe['base_correct']}/{probe['questions']}"),
        ("training wall time", f"{training['seconds']:.0f} s ({training['steps']} steps)"),
        ("peak memory (RSS)", f"{training['peak_rss_bytes'] / 2**30:.2f} GiB"),
        ("training tokens/s: hearth", _num(throughput.get("hearth_tokens_per_second"))),
        ("training tokens/s: plain peft", _num(throughput.get("reference_tokens_per_second"))),
        ("decode tokens/s: base / tuned", f"{decode['base_tokens_per_second']} / "
                                          f"{decode['tuned_tokens_per_second']} "
                                          f"({decode['ratio']:.2f}x)"),
    ]
    out = Table(title=f"hearth bench tune ({report['model']})", show_header=False)
    for name, value in rows:
        out.add_row(name, value)
    return out


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
