"""Exercism's Python exercises as a coding benchmark, the way Aider's benchmark uses them.

Each exercise is copied into a fresh folder with its instructions and its stub only: ``.meta/``
(which holds the reference solution) never leaves the data folder. Whether the tests are in the
folder depends on the mode (``with_tests``); either way, before grading the exercise's own tests
are copied in again, over whatever the agent did to them, and run with pytest.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hearth.errors import NotFound

GRADE_TIMEOUT_S = 60
OUTPUT_CHARS = 4_000  # of the test output kept for the retry and the report


@dataclass(frozen=True)
class Exercise:
    name: str
    folder: Path
    solution: tuple[str, ...]
    tests: tuple[str, ...]

    @property
    def instructions(self) -> str:
        docs = self.folder / ".docs"
        parts = [(docs / name).read_text() for name in ("instructions.md", "instructions.append.md")
                 if (docs / name).is_file()]
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Grade:
    passed: bool
    output: str  # the tail of pytest's output


def load(folder: Path, *, sample: int | None = None, seed: int = 0) -> list[Exercise]:
    """The exercises under ``folder`` (sorted), or a fixed, seeded sample of ``sample`` of them."""
    if not folder.is_dir():
        raise NotFound(f"No exercises at {folder}: give --exercises the exercism-python-dev "
                       "folder (see ../shared/data/README.md).")
    found = []
    for config in sorted(folder.glob("*/.meta/config.json")):
        files = json.loads(config.read_text())["files"]
        found.append(Exercise(config.parent.parent.name, config.parent.parent,
                              tuple(files["solution"]), tuple(files["test"])))
    if sample is not None and sample < len(found):
        found = sorted(random.Random(seed).sample(found, sample), key=lambda e: e.name)
    return found


def prepare(exercise: Exercise, workdir: Path, *, with_tests: bool) -> Path:
    """A fresh folder holding the stub (and the tests when ``with_tests``), as a git repository
    so the agent's changes can be seen as a diff."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in exercise.solution + (exercise.tests if with_tests else ()):
        shutil.copyfile(exercise.folder / name, workdir / name)
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.name=bench", "-c", "user.email=bench@hearth", "commit", "-qm",
                     "exercise"]):
        subprocess.run(["git", *command], cwd=workdir, check=True, capture_output=True)
    return workdir


def grade(exercise: Exercise, workdir: Path) -> Grade:
    """Put the exercise's own tests back and run them."""
    for name in exercise.tests:
        shutil.copyfile(exercise.folder / name, workdir / name)
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               *exercise.tests], cwd=workdir, capture_output=True, text=True,
                              timeout=GRADE_TIMEOUT_S, check=False)
        output, passed = done.stdout + done.stderr, done.returncode == 0
    except subprocess.TimeoutExpired:
        output, passed = f"The tests did not finish within {GRADE_TIMEOUT_S} s.", False
    return Grade(passed, output[-OUTPUT_CHARS:])


def graded_with_retry(exercise: Exercise, workdir: Path,
                      retry: Callable[[Grade], None] | None) -> tuple[Grade, Grade]:
    """The grades after the first try and after the retry (the same when it passed, or when
    there is no retry). Before the retry the tests are taken away again, as before the first
    try: the solver sees their output, never the tests themselves."""
    first = grade(exercise, workdir)
    if first.passed or retry is None:
        return first, first
    for name in exercise.tests:
        (workdir / name).unlink()
    retry(first)
    return first, grade(exercise, workdir)
