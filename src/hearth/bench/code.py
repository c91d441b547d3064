"""``hearth bench code``: coding agents on Exercism exercises, on one model and one server.

Two ways to run hearth code, and the peers in the same run:

- ``aider-comparable``: as Aider's benchmark does it. The agent sees the instructions and the
  stub, may not run the tests (no shell, no test file), and gets one retry with the test output:
  pass@1 and pass@2.
- ``agentic``: the tests are in the folder and the agent may run them, within a step and a time
  budget; pass@1 is whether they pass when it stops.
- ``aider`` (``aider-chat``, its ``whole`` edit format) and ``mini-swe-agent``, each installed in
  a virtual environment of its own (see ``hearth.bench.code_peers``), on the same server.

Tokens are counted by the server for every system alike (``hearth_tokens_total`` on
``/metrics``, before and after each exercise), so a peer's own bookkeeping is not needed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hearth.agent.model import OpenAIModel
from hearth.agent.session import Limits, Session
from hearth.agent.tools import SandboxMode, Toolbox
from hearth.agent.instructions import system_prompt, task_message
from hearth.bench.exercism import Exercise, Grade, graded_with_retry, prepare

Log = Callable[[str], None]


@dataclass
class ExerciseResult:
    exercise: str
    passed_first: bool
    passed_second: bool
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    tool_calls: int = 0
    malformed_calls: int = 0
    status: str = ""
    error: str | None = None


@dataclass
class SystemRun:
    name: str
    description: str
    results: list[ExerciseResult] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        done = self.results
        solved = [r for r in done if r.passed_second]
        calls = sum(r.tool_calls for r in done)
        return {
            "exercises": len(done),
            "pass_1": sum(r.passed_first for r in done) / len(done) if done else None,
            "pass_2": len(solved) / len(done) if done else None,
            "solved": len(solved),
            "tokens": sum(r.prompt_tokens + r.completion_tokens for r in done),
            "tokens_per_solved": (sum(r.prompt_tokens + r.completion_tokens for r in done)
                                  / len(solved) if solved else None),
            "median_wall_s_solved": statistics.median(r.wall_s for r in solved) if solved else None,
            "wall_s": sum(r.wall_s for r in done),
            "well_formed_calls": (1 - sum(r.malformed_calls for r in done) / calls
                                  if calls else None),
        }


class TokenMeter:
    """The server's own token counters, read before and after an exercise."""

    def __init__(self, base_url: str):
        self.url = base_url.removesuffix("/v1").rstrip("/") + "/metrics"

    def read(self) -> tuple[int, int]:
        try:
            text = httpx.get(self.url, timeout=10).text
        except httpx.HTTPError:
            return 0, 0
        counts = {"prompt": 0.0, "completion": 0.0}
        for line in text.splitlines():
            if line.startswith("hearth_tokens_total{"):
                for kind in counts:
                    if f'direction="{kind}"' in line:
                        counts[kind] = float(line.rsplit(" ", 1)[1])
        return int(counts["prompt"]), int(counts["completion"])


def aider_task(exercise: Exercise) -> str:
    """Aider benchmark's own wording: instructions, then what to edit and the rules."""
    files = " ".join(exercise.solution)
    return (f"{exercise.instructions}\n\nUse the above instructions to modify the supplied "
            f"files: {files}\nDon't change the names of existing functions or classes, as they "
            "may be referenced from other code like unit tests, etc.\nOnly use standard python "
            "libraries, don't suggest installing any packages.")


def retry_task(exercise: Exercise, failed: Grade) -> str:
    files = " ".join(exercise.solution)
    return (f"{failed.output}\n\nSee the testing errors above.\nThe tests are correct, don't try "
            f"and change them.\nFix the code in {files} to resolve the errors.")


def agentic_task(exercise: Exercise) -> str:
    return (f"{exercise.instructions}\n\nImplement this in {' '.join(exercise.solution)}. "
            f"The tests are in {' '.join(exercise.tests)}: run `python -m pytest -q` and fix "
            "the code until they pass. Do not change the tests. Don't change the names of "
            "existing functions or classes. Use only the standard library.")


@dataclass(frozen=True)
class HearthCodeConfig:
    base_url: str
    model: str | None
    agentic: bool
    limits: Limits


def run_hearth_code(config: HearthCodeConfig, exercise: Exercise, workdir: Path,
                    meter: TokenMeter) -> ExerciseResult:
    """One exercise with hearth's agent, in-process, as ``hearth code exec`` runs it."""
    folder = prepare(exercise, workdir, with_tests=config.agentic)
    start, before = time.monotonic(), meter.read()
    model = OpenAIModel(config.base_url, config.model)
    session = Session(model, Toolbox(folder, SandboxMode.WORKSPACE_WRITE,
                                     allow_shell=config.agentic),
                      [{"role": "system", "content": system_prompt(folder)}],
                      limits=config.limits)
    task = agentic_task(exercise) if config.agentic else aider_task(exercise)
    outcomes = [session.run(task_message(folder, task))]

    def retry(failed: Grade) -> None:
        outcomes.append(session.run(retry_task(exercise, failed)))

    first, second = graded_with_retry(exercise, folder, None if config.agentic else retry)
    outcome = outcomes[-1]
    after = meter.read()
    return ExerciseResult(exercise.name, first.passed, second.passed, after[0] - before[0],
                          after[1] - before[1], time.monotonic() - start,
                          session.tool_calls, session.malformed_calls, outcome.status)


def run_system(run: SystemRun, exercises: list[Exercise],
               one: Callable[[Exercise, Path], ExerciseResult], log: Log) -> SystemRun:
    with tempfile.TemporaryDirectory(prefix=f"hearth-bench-{run.name}-") as scratch:
        for index, exercise in enumerate(exercises, 1):
            try:
                result = one(exercise, Path(scratch) / exercise.name)
            except Exception as exc:  # one broken exercise must not end the whole run
                result = ExerciseResult(exercise.name, False, False, 0, 0, 0.0,
                                        error=f"{type(exc).__name__}: {exc}")
            run.results.append(result)
            mark = "pass" if result.passed_first else "pass@2" if result.passed_second else "fail"
            log(f"  {run.name} {index}/{len(exercises)} {exercise.name}: {mark} "
                f"({result.wall_s:.0f} s, {result.prompt_tokens + result.completion_tokens} "
                f"tokens{', ' + result.status if result.status else ''})")
    return run


def report(runs: list[SystemRun], settings: dict[str, Any]) -> dict[str, Any]:
    summaries = {run.name: run.summary() for run in runs}
    return {"settings": settings,
            "systems": {run.name: {"description": run.description, "error": run.error,
                                   "summary": summaries[run.name],
                                   "results": [asdict(r) for r in run.results]}
                        for run in runs}}
