"""The worker as a process of its own: one per machine (a lock in the data folder), started by
a server only when none runs, retrying a job that crashed it a few times and then failing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from toy_job import job_config

from hearth.config import Settings
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tune_jobs import MAX_ATTEMPTS
from hearth.tune.jobs import submit
from hearth.tune.launcher import WorkerLauncher, worker_lock, worker_running
from hearth.tune.worker import run_next

ALICE = Owner("acme", "alice")


def queue(db: Database, base: Path, tmp_path: Path):
    data = job_config(base, tmp_path / "upload").training_file
    return submit(db, ALICE, model="toy", base_path=base, training_file=data,
                  jobs_root=tmp_path / "jobs", hyperparameters={"epochs": 1})


def test_a_job_that_keeps_crashing_its_worker_is_failed_after_the_retry_limit(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    job = queue(db, toy_qwen2_gguf, tmp_path)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = tune_jobs.claim_next(db)  # ... and its worker dies before closing it
        assert (claimed.id, claimed.status, claimed.attempts) == (job.id, "running", attempt)

    assert tune_jobs.claim_next(db) is None

    failed = tune_jobs.get_job(db, "acme", job.id)
    assert (failed.status, failed.error_code) == ("failed", "worker_crashed")
    assert f"stopped its worker {MAX_ATTEMPTS} times" in failed.error
    assert failed.finished_at is not None
    assert tune_jobs.list_events(db, "acme", job.id)[0].level == "error"


def test_a_crashing_job_does_not_keep_the_next_one_waiting(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    crashing = queue(db, toy_qwen2_gguf, tmp_path / "a")
    for _ in range(MAX_ATTEMPTS):
        tune_jobs.claim_next(db)
    healthy = queue(db, toy_qwen2_gguf, tmp_path / "b")

    assert run_next(db) == healthy.id

    assert tune_jobs.get_job(db, "acme", crashing.id).status == "failed"
    assert tune_jobs.get_job(db, "acme", healthy.id).status == "succeeded"


def worker_process(home: Path, database: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HEARTH_HOME": str(home),
                   "HEARTH_DATABASE_URL": f"sqlite:///{database}",
                   "HEARTH_TUNE_WORKER_IDLE_SECONDS": "0"}
    return subprocess.run([sys.executable, "-m", "hearth.tune.worker"], env=environment,
                          capture_output=True, text=True, timeout=300)


def test_a_second_worker_leaves_the_jobs_to_the_one_that_holds_the_lock(
        sqlite_db: Database, sqlite_path: Path, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    job = queue(sqlite_db, toy_qwen2_gguf, tmp_path)
    with worker_lock(tmp_path) as held:
        assert held and worker_running(tmp_path)
        second = worker_process(tmp_path, sqlite_path)
        assert second.returncode == 0, second.stderr
        assert "another fine-tuning worker runs" in second.stderr
        assert tune_jobs.get_job(sqlite_db, "acme", job.id).status == "queued"
    assert not worker_running(tmp_path)

    alone = worker_process(tmp_path, sqlite_path)  # runs the job, then finds nothing: exits

    assert alone.returncode == 0, alone.stderr
    assert tune_jobs.get_job(sqlite_db, "acme", job.id).status == "succeeded"


def test_a_server_starts_no_worker_while_one_runs_or_when_told_not_to(tmp_path: Path) -> None:
    with worker_lock(tmp_path):
        assert WorkerLauncher(Settings(home=tmp_path)).ensure_running() is None
    assert WorkerLauncher(Settings(home=tmp_path, tune_worker=False)).ensure_running() is None
    assert not (tmp_path / "tune" / "worker.log").exists()


def test_a_started_worker_with_nothing_to_do_exits(
        sqlite_db: Database, sqlite_path: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_TUNE_WORKER_IDLE_SECONDS", "0")
    launcher = WorkerLauncher(Settings(home=tmp_path,
                                       database_url=f"sqlite:///{sqlite_path}"))

    started = launcher.ensure_running()

    assert started is not None and started.wait(timeout=300) == 0
    assert "no fine-tuning job" in (tmp_path / "tune" / "worker.log").read_text()
