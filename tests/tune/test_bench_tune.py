"""``hearth bench tune`` on the toy Qwen2 (here, beside the toy's fixtures): the facts, the
scoring through llama.cpp, the goals and the report's shape."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hearth.bench import tune as bench
from hearth.cli.main import app
from hearth.tune.train import Progress

TOY = bench.Settings(facts=2, epochs=6, learning_rate=1e-2, reference_steps=4, decode_tokens=8,
                     decode_runs=1, threads=1)


def test_the_facts_are_invented_distinct_and_the_same_for_a_seed() -> None:
    facts = bench.make_facts(50, seed=0)
    assert facts == bench.make_facts(50, seed=0) and facts != bench.make_facts(50, seed=1)
    assert len({answer for _, answer in facts}) == 50
    assert len({asked for asked, _ in facts}) == 50
    assert all(asked.startswith("What is the capital of the invented country ")
               for asked, _ in facts)


def test_the_report_scores_the_tuned_and_base_answers_and_states_the_goals(
        toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    report = bench.run_bench(toy_qwen2_gguf, TOY, tmp_path)

    json.dumps(report)  # the report is written as JSON
    assert set(report) == {"benchmark", "machine", "model", "settings", "training", "probe",
                           "throughput", "decode", "goals"}
    probe = report["probe"]
    assert (probe["questions"], probe["tuned_correct"], probe["base_correct"]) == (2, 2, 0)
    assert (probe["tuned_exact"], probe["base_exact"]) == (1.0, 0.0)
    assert report["training"]["steps"] == 12 and report["training"]["peak_rss_bytes"] > 0
    assert report["throughput"]["ratio"] > 0 and report["throughput"]["steps"] == 4
    decode = report["decode"]
    assert decode["path"].startswith("hearth's engine") and decode["runs"] == TOY.decode_runs
    assert decode["ratio"] == round(decode["tuned_tokens_per_second"]
                                    / decode["base_tokens_per_second"], 3)
    met = {goal["name"]: goal["met"] for goal in report["goals"]}
    assert met["tuned model answers the facts exactly"] is True
    assert met["base model answers the facts exactly"] is True
    assert met["tuned decode tokens/s vs the base's"] is (decode["ratio"] >= 0.9)


def test_goals_are_missed_below_target_and_open_when_unmeasured() -> None:
    report = {"probe": {"tuned_exact": 0.88, "base_exact": 0.12},
              "training": {"seconds": 1801.0}, "throughput": None, "decode": {"ratio": 0.89}}
    assert [goal["met"] for goal in bench.goals(report)] == [False, False, False, None, False]


def test_tokens_per_second_are_timed_over_the_steps_after_warm_up() -> None:
    def mark(at: float, step: int, tokens: int) -> tuple[float, Progress]:
        return at, Progress(step=step, total_steps=9, loss=1.0, tokens_per_second=0.0,
                            seconds_left=0.0, tokens=tokens)

    marks = [mark(10.0, 1, 100), mark(11.0, 2, 150), mark(13.0, 3, 250), mark(14.0, 4, 300)]
    assert bench.timed_rate(marks, warmup=2, steps=2) == 150 / 3
    assert bench.timed_rate(marks, warmup=2, steps=3) is None


def test_the_command_prints_its_tables_and_writes_the_report(toy_qwen2_gguf: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "tune.json"
    result = CliRunner().invoke(app, [
        "bench", "tune", "--model", str(toy_qwen2_gguf), "--facts", "2", "--epochs", "6",
        "--learning-rate", "0.01", "--skip-reference", "--threads", "1", "--json",
        str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["throughput"] is None and written["probe"]["questions"] == 2
    assert "tuned exact answers" in result.stdout and "2/2" in result.stdout
