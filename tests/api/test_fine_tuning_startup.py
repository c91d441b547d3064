"""A server that starts while fine-tuning jobs wait (queued while no server ran, or left by a
worker that stopped) starts the worker for them; told not to (``tune_worker=False``), it
leaves them be."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hearth.api.app import create_app
from hearth.config import Settings
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.tune.jobs import submit
from hearth.tune.launcher import jobs_folder
from tune_server import TOY_MODEL, training_lines, wait_until_finished


def waiting_job(home: Path, base: Path) -> tuple[Database, str]:
    db = Database(f"sqlite:///{home / 'hearth.db'}")
    db.migrate()
    data = home / "facts.jsonl"
    data.write_text(training_lines())
    job = submit(db, Owner("local", "local"), model=TOY_MODEL, base_path=base,
                 training_file=data, jobs_root=jobs_folder(home),
                 hyperparameters={"epochs": 1})
    return db, job.id


def settings(home: Path, **changes) -> Settings:
    return Settings(home=home, database_url=None, engine="fake", model="fake-model",
                    memory=False, web=False, tune_worker_idle_seconds=0, **changes)


def test_a_starting_server_starts_the_worker_for_waiting_jobs(
        tmp_path: Path, toy_qwen2_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_TUNE_WORKER_IDLE_SECONDS", "0")
    db, job_id = waiting_job(tmp_path, toy_qwen2_gguf)
    with TestClient(create_app(settings(tmp_path))):
        done = wait_until_finished(lambda job: tune_jobs.get_job(db, "local", job), job_id)
    assert done.status == "succeeded"
    db.dispose()


def test_a_server_told_not_to_leaves_waiting_jobs_queued(tmp_path: Path,
                                                         toy_qwen2_gguf: Path) -> None:
    db, job_id = waiting_job(tmp_path, toy_qwen2_gguf)
    with TestClient(create_app(settings(tmp_path, tune_worker=False))) as client:
        assert client.get("/healthz").status_code == 200
    assert tune_jobs.get_job(db, "local", job_id).status == "queued"
    assert not (tmp_path / "tune" / "worker.log").exists()
    db.dispose()
