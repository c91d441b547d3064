"""``hearth bench code``: exercises are given without their answers, graded on their own tests,
and the systems' figures and goals are computed from what was measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.bench.code import ExerciseResult, SystemRun, TokenMeter, aider_task, retry_task
from hearth.bench.code_peers import read_mini_trajectory
from hearth.bench.exercism import Grade, grade, load, prepare
from hearth.cli.bench_code import goals

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "exercism-python-dev"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not here")


def exercise_folder(root: Path, name: str = "twice", solution: str = "def twice(x):\n    pass\n",
                    answer: str = "def twice(x):\n    return 2 * x\n") -> Path:
    folder = root / name
    (folder / ".meta").mkdir(parents=True)
    (folder / ".docs").mkdir()
    (folder / ".docs" / "instructions.md").write_text("Return twice the number.")
    (folder / ".meta" / "config.json").write_text(json.dumps(
        {"files": {"solution": [f"{name}.py"], "test": [f"{name}_test.py"],
                   "example": [".meta/example.py"]}}))
    (folder / ".meta" / "example.py").write_text(answer)
    (folder / f"{name}.py").write_text(solution)
    (folder / f"{name}_test.py").write_text(
        f"from {name} import twice\n\ndef test_twice():\n    assert twice(3) == 6\n")
    return folder


def test_an_exercise_is_given_without_its_answer_and_with_tests_only_when_asked(
        tmp_path: Path) -> None:
    exercise_folder(tmp_path / "data")
    [exercise] = load(tmp_path / "data")
    assert exercise.instructions == "Return twice the number."
    bare = prepare(exercise, tmp_path / "work", with_tests=False)
    assert sorted(p.name for p in bare.iterdir() if p.name != ".git") == ["twice.py"]
    full = prepare(exercise, tmp_path / "work2", with_tests=True)
    assert sorted(p.name for p in full.iterdir() if p.name != ".git") == [
        "twice.py", "twice_test.py"]
    assert not list(full.rglob("example.py")) and not (full / ".meta").exists()


def test_grading_runs_the_exercises_own_tests_even_if_the_agent_changed_them(
        tmp_path: Path) -> None:
    exercise_folder(tmp_path / "data")
    [exercise] = load(tmp_path / "data")
    work = prepare(exercise, tmp_path / "work", with_tests=True)
    (work / "twice_test.py").write_text("def test_nothing():\n    pass\n")  # a cheat
    failed = grade(exercise, work)
    assert not failed.passed and "1 failed" in failed.output
    (work / "twice.py").write_text("def twice(x):\n    return 2 * x\n")
    assert grade(exercise, work).passed


@needs_data
def test_the_dev_exercises_load_and_a_seeded_sample_is_stable() -> None:
    every = load(DATA)
    assert len(every) == 33
    first, again = load(DATA, sample=5, seed=7), load(DATA, sample=5, seed=7)
    assert [e.name for e in first] == [e.name for e in again] and len(first) == 5
    assert all(e.solution and e.tests and e.instructions for e in every)


def test_the_aider_prompts_name_the_files_and_carry_the_test_output(tmp_path: Path) -> None:
    exercise_folder(tmp_path / "data")
    [exercise] = load(tmp_path / "data")
    assert "modify the supplied files: twice.py" in aider_task(exercise)
    retry = retry_task(exercise, Grade(False, "E   assert None == 6"))
    assert retry.startswith("E   assert None == 6") and "Fix the code in twice.py" in retry


def test_the_token_meter_reads_the_servers_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    class Reply:
        text = ('# HELP hearth_tokens_total x\nhearth_tokens_total{direction="prompt"} 1234.0\n'
                'hearth_tokens_total{direction="completion"} 56.0\n')
    monkeypatch.setattr("hearth.bench.code.httpx.get", lambda url, timeout: Reply())
    meter = TokenMeter("http://127.0.0.1:1/v1")
    assert meter.url == "http://127.0.0.1:1/metrics" and meter.read() == (1234, 56)


def result(name: str, first: bool, second: bool, tokens: int = 100, wall: float = 10.0,
           calls: int = 10, malformed: int = 0) -> ExerciseResult:
    return ExerciseResult(name, first, second, tokens, 0, wall, calls, malformed)


def test_a_systems_summary_counts_passes_tokens_and_well_formed_calls() -> None:
    run = SystemRun("agentic", "", [result("a", True, True, 300, 20.0),
                                    result("b", False, True, 500, 40.0, malformed=1),
                                    result("c", False, False, 1000, 90.0)])
    summary = run.summary()
    assert summary["pass_1"] == pytest.approx(1 / 3) and summary["pass_2"] == pytest.approx(2 / 3)
    assert summary["tokens_per_solved"] == 900 and summary["median_wall_s_solved"] == 30.0
    assert summary["well_formed_calls"] == pytest.approx(29 / 30)


def test_goals_compare_hearth_code_with_the_peers_of_the_same_run() -> None:
    def system(pass_2: float, formed: float | None = None) -> dict:
        return {"summary": {"pass_2": pass_2, "well_formed_calls": formed}}
    report = {"systems": {"agentic": system(0.3, 0.99), "aider": system(0.15),
                          "mini-swe-agent": system(0.3)}}
    found = {g["ratio"]: g for g in goals(report)}
    assert found["agentic_vs_aider_pass2"]["measured"] == pytest.approx(2.0)
    assert found["agentic_vs_aider_pass2"]["met"] is True
    assert found["agentic_minus_mini_pass2"]["met"] is False  # equal is not more
    assert found["agentic_well_formed_calls"]["met"] is True
    report["systems"]["aider"] = system(0.0)
    assert {g["ratio"]: g for g in goals(report)}["agentic_vs_aider_pass2"]["met"] is True


def test_bench_code_runs_hearth_code_against_a_live_server_and_writes_its_report(
        serve, tmp_path: Path) -> None:
    """On the fake engine nothing is solved; the run, the grading and the report are checked."""
    from typer.testing import CliRunner

    from hearth.cli.main import app
    from live_server import FAKE_ENV

    server = serve(FAKE_ENV)
    exercise_folder(tmp_path / "data")
    out = tmp_path / "code.json"
    result = CliRunner().invoke(app, [
        "bench", "code", "--url", server.base_url, "--exercises", str(tmp_path / "data"),
        "--systems", "agentic,aider-comparable", "--max-steps", "4", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report["systems"]) == {"agentic", "aider-comparable"}
    for system in report["systems"].values():
        [row] = system["results"]
        assert row["exercise"] == "twice" and row["passed_second"] is False
        assert row["prompt_tokens"] > 0  # counted by the server's own meter
        assert system["summary"]["pass_2"] == 0.0
    assert "hearth bench code" in result.output


def test_a_retry_runs_only_after_a_failure_and_never_sees_the_tests(tmp_path: Path) -> None:
    from hearth.bench.exercism import graded_with_retry

    exercise_folder(tmp_path / "data")
    [exercise] = load(tmp_path / "data")
    work = prepare(exercise, tmp_path / "work", with_tests=False)
    seen: list[bool] = []

    def fix(failed: Grade) -> None:
        seen.append((work / "twice_test.py").exists())
        assert "1 failed" in failed.output
        (work / "twice.py").write_text("def twice(x):\n    return 2 * x\n")

    first, second = graded_with_retry(exercise, work, fix)
    assert (first.passed, second.passed, seen) == (False, True, [False])
    again = graded_with_retry(exercise, work, fix)
    assert again[0].passed and again[0] is again[1] and seen == [False]  # no retry


def test_a_mini_swe_agent_trajectory_counts_its_refused_replies(tmp_path: Path) -> None:
    # The shape mini-swe-agent 2.4.6 saves: refused replies leave only its format note.
    note = ("Tool call error:\n\n<error>\nNo tool calls found in the response.\n</error>\n")
    trajectory = tmp_path / "t.json"
    trajectory.write_text(json.dumps({
        "info": {"model_stats": {"instance_cost": 0.0, "api_calls": 4},
                 "exit_status": "RepeatedFormatError"},
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Please solve this issue: ..."},
                     {"role": "assistant", "content": "", "tool_calls": [{"id": "1"}]},
                     {"role": "tool", "content": '{"returncode": 0, "output": ""}'},
                     {"role": "user", "content": note}, {"role": "user", "content": note},
                     {"role": "user", "content": "Your previous response reached the output "
                                                 "token limit (finish_reason=length)"},
                     {"role": "exit", "content": "RepeatedFormatError"}],
        "trajectory_format": "mini-swe-agent-1.1"}))
    assert read_mini_trajectory(trajectory) == (4, 3, "RepeatedFormatError")
    assert read_mini_trajectory(tmp_path / "missing.json") == (0, 0, "")
