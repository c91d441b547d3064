"""``hearth bench memory``: recall of hearth's memory on LoCoMo against raw-turn baselines,
answers from memory against no memory and the full conversation, or recall latency at scale.

The measuring lives in ``hearth.bench.memory`` (recall), ``memory_answers`` (answers) and
``memory_scale`` (--scale); this module parses flags, prints the tables and writes JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from hearth.bench.locomo import CATEGORIES, Conversation, DatasetError
from hearth.cli.bench import fail_if_unmeasured, goals_table, num_cell, write_report
from hearth.cli.common import one_line_errors, settings_with, stderr


def memory_command(
    dataset: Annotated[Optional[Path], typer.Option(
        help="Folder of LoCoMo-format JSON files, one conversation (one user) each.")] = None,
    conversations: Annotated[Optional[str], typer.Option(
        help="Only these conversations of the dataset, by name (file stem), comma-separated: "
             "to hold some out of tuning, or to check on them alone.")] = None,
    answers: Annotated[bool, typer.Option(
        "--answers", help="Instead of recall: answer the questions with the chat model from "
                          "memory, with no memory and with the full conversation, scored with "
                          "LoCoMo's F1.")] = False,
    sample: Annotated[Optional[int], typer.Option(
        min=1, help="With --answers: this many questions, drawn with --seed (default: all).")]
    = None,
    seed: Annotated[int, typer.Option(help="With --answers: the sample's seed.")] = 22,
    model: Annotated[Optional[str], typer.Option(
        help="With --answers: catalog id or .gguf path of the chat model "
             "(default: qwen2.5-coder-1.5b-instruct).")] = None,
    context: Annotated[Optional[int], typer.Option(
        min=256, help="With --answers: tokens of the full-context prompt (default: the "
                      "model's context length).")] = None,
    scale: Annotated[Optional[str], typer.Option(
        help="Instead: recall latency with N synthetic memories for each of 10 users; "
             "comma-separated N, e.g. 10000,100000.")] = None,
    json_path: Annotated[Optional[Path], typer.Option(
        "--json", help="Where to write the JSON report (default: benchmarks/results/"
                       "memory.json; memory-answers.json with --answers, memory-scale.json "
                       "with --scale).")] = None,
) -> None:
    """Recall of hearth's memory on LoCoMo against BM25 and MiniLM over raw turns, answers
    from memory, or recall latency at scale.

    With --dataset: recall@5, recall@10 and recall within 1,000 tokens (share of each
    question's evidence turns found in the provenance of the recalled memories), overall and
    per category, plus ingest and recall latency. With --answers as well: the chat model's
    answer F1 and exact match per category with memory, with no memory and with the full
    conversation, and prompt tokens and seconds per answer. With --scale: recall p50/p95 at
    each N.
    """
    from hearth.bench import memory as memory_bench
    from hearth.bench import memory_scale
    from hearth.bench.locomo import load_dataset

    if (dataset is None) == (scale is None):
        raise typer.BadParameter("give either --dataset DIR or --scale N[,N...]")
    log = lambda line: stderr.print(line, highlight=False)  # noqa: E731
    console = Console()
    with one_line_errors():
        if scale is not None:
            levels = parse_scale(scale)
            report = memory_scale.run_scale(levels, log=log)
            console.print(memory_scale_table(report))
            default = Path("benchmarks/results/memory-scale.json")
        else:
            assert dataset is not None
            chosen = only(load_dataset(dataset), conversations)
            if answers:
                report = run_answers(chosen, dataset, model, sample, seed, context, log)
                console.print(answers_table(report))
                default = Path("benchmarks/results/memory-answers.json")
            else:
                report = memory_bench.run_dataset(chosen, dataset, log=log)
                console.print(memory_recall_table(report))
                console.print(memory_speed_table(report))
                default = Path("benchmarks/results/memory.json")
    console.print(goals_table(report, "goals", digits=3))
    write_report(console, report, json_path or default)
    fail_if_unmeasured(report)


def only(conversations: list[Conversation], names: str | None) -> list[Conversation]:
    """The conversations named in ``names`` (comma-separated), all when None."""
    if names is None:
        return conversations
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    known = {c.name for c in conversations}
    missing = [name for name in wanted if name not in known]
    if missing or not wanted:
        raise DatasetError(f"No conversation named {', '.join(missing) or repr(names)} in the "
                           f"dataset; it has {', '.join(sorted(known))}.")
    return [c for c in conversations if c.name in wanted]


def run_answers(conversations: list[Conversation], dataset: Path, model: str | None,
                sample: int | None, seed: int, context: int | None,
                log: Any) -> dict[str, Any]:
    """The answer benchmark with one engine (one sequence at a time) for the chat model."""
    import asyncio

    from hearth.bench.memory_answers import ANSWER_MODEL
    from hearth.bench.memory_answers import run_answers as measure
    from hearth.engines.registry import create_engine

    engine = create_engine(settings_with(model=model or ANSWER_MODEL, parallel=1))
    try:
        return measure(conversations, dataset, engine, sample=sample, seed=seed,
                       context_tokens=context, log=log)
    finally:
        asyncio.run(engine.close())


def answers_table(report: dict[str, Any]) -> Table:
    """Rows: system × metric (F1, exact match); columns: overall, then each category; then
    prompt tokens and seconds per answer."""
    data = report["dataset"]
    table = Table(title=f"hearth bench memory --answers: {data['questions']} questions, "
                        f"{report['model']['id']}",
                  caption="LoCoMo token F1 and exact match, averaged over questions; tokens: "
                          "prompt tokens per answer (mean); s: seconds per answer (mean)",
                  show_edge=False)
    table.add_column("system")
    table.add_column("metric")
    for label in ("overall", *CATEGORIES.values(), "tokens", "s"):
        table.add_column(label, justify="right")
    for name, system in report["systems"].items():
        if system["error"]:
            table.add_row(name, "error", *["-"] * (3 + len(CATEGORIES)))
            continue
        speed = (num_cell(system["prompt_tokens"]["mean"], 0),
                 num_cell(system["seconds_per_answer"]["mean"], 1))
        for key, label in (("f1", "F1"), ("exact_match", "exact")):
            table.add_row(name, label, *(num_cell(v, 3) for v in system[key].values()),
                          *(speed if key == "f1" else ("", "")))
        table.add_section()
    return table


def parse_scale(text: str) -> tuple[int, ...]:
    """``"10000,100000"`` or ``"10k,100k"`` to memory counts per user."""
    try:
        levels = tuple(int(part.strip().lower().replace("_", "").replace("k", "000"))
                       for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers.") from None
    if not levels or min(levels) < 1:
        raise typer.BadParameter(f"{text!r}: give one or more memory counts, each at least 1.")
    return levels


_RECALL_ROWS = (("recall_at_5", "recall@5"), ("recall_at_10", "recall@10"),
                ("recall_in_1000_tokens", "≤1000 tok"))


def memory_recall_table(report: dict[str, Any]) -> Table:
    """Rows: system × metric; columns: overall, then each LoCoMo category."""
    data = report["dataset"]
    table = Table(title=f"hearth bench memory: {data['questions']} questions, "
                        f"{len(data['conversations'])} conversations, {data['turns']} turns",
                  caption="share of each question's evidence turns found, averaged over "
                          f"questions; tokens: {report['settings']['tokenizer']}",
                  show_edge=False)
    table.add_column("system")
    table.add_column("metric")
    for label in ("overall", *CATEGORIES.values()):
        table.add_column(label, justify="right")
    for name, system in report["systems"].items():
        if system["error"]:
            table.add_row(name, "error", *["-"] * (1 + len(CATEGORIES)))
            continue
        for key, label in _RECALL_ROWS:
            figures = system["recall"][key]
            table.add_row(name, label, *(num_cell(v, 3) for v in figures.values()))
        table.add_section()
    return table


def memory_speed_table(report: dict[str, Any]) -> Table:
    table = Table(title="speed (ms)", show_edge=False,
                  caption="ingest: one remember() per turn; recall: one search of 10 per question")
    for column in ("system", "ingest p50", "ingest p95", "index total (s)", "recall p50",
                   "recall p95"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for name, system in report["systems"].items():
        if system["error"]:
            continue
        ingest, recall = system["ingest"], system["recall_latency_ms"]
        table.add_row(name, num_cell(ingest["per_turn_ms"]["p50"], 2),
                      num_cell(ingest["per_turn_ms"]["p95"], 2), num_cell(ingest["total_s"], 1),
                      num_cell(recall["p50"], 2), num_cell(recall["p95"], 2))
    return table


def memory_scale_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"hearth bench memory --scale: {report['settings']['users']} users, "
                        f"{report['settings']['queries']} questions to one", show_edge=False,
                  caption="ms per question; fulltext/vector: the store's searches alone; "
                          "vector top 10: share of an exact search's top 10 it found")
    for column in ("per user", "total", "store (s)", "recall p50", "recall p95",
                   "fulltext p95", "vector p95", "vector top 10"):
        table.add_column(column, justify="right")
    for level in report["levels"]:
        table.add_row(f"{level['memories_per_user']:,}", f"{level['total_memories']:,}",
                      num_cell(level["store_s"], 0), num_cell(level["recall_ms"]["p50"], 1),
                      num_cell(level["recall_ms"]["p95"], 1),
                      num_cell(level["store_fulltext_ms"]["p95"], 1),
                      num_cell(level["store_vector_ms"]["p95"], 1),
                      num_cell(level["vector_agreement_with_exact"]["top_10"], 3))
    return table
