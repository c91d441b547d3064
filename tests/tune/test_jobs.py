"""Fine-tuning jobs in the database, run by the worker: queued, trained, exported, named;
cancelled; resumed after a worker stopped; invisible to other orgs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from toy_job import STEPS, job_config

from hearth.errors import InvalidRequest, NotFound
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.tune.data import InvalidTrainingFile
from hearth.tune.jobs import submit
from hearth.tune.train import train
from hearth.tune import worker
from hearth.tune.worker import ADAPTER_FILE, run_job, run_next

ALICE = Owner("acme", "alice")
SETTINGS = {"epochs": 6, "learning_rate": 1e-2, "save_steps": 4, "seed": 1}


def queue(db: Database, base: Path, tmp_path: Path, suffix: str | None = None,
          validate_on_training_data: bool = False):
    data = job_config(base, tmp_path / "upload").training_file
    return submit(db, ALICE, model="toy", base_path=base, training_file=data,
                  jobs_root=tmp_path / "jobs", hyperparameters=SETTINGS, suffix=suffix,
                  validation_file=data if validate_on_training_data else None)


def messages(db: Database, job_id: str) -> list[str]:
    return [event.message for event in reversed(tune_jobs.list_events(db, "acme", job_id))]


def test_a_queued_job_trains_exports_its_adapter_and_names_its_model(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    job = queue(db, toy_qwen2_gguf, tmp_path, suffix="facts", validate_on_training_data=True)
    assert job.status == "queued" and (Path(job.folder) / "train.jsonl").exists()

    assert run_next(db) == job.id
    assert run_next(db) is None

    done = tune_jobs.get_job(db, "acme", job.id)
    assert (done.status, done.step, done.total_steps) == ("succeeded", STEPS, STEPS)
    assert done.fine_tuned_model == f"ft:toy:acme:facts:{job.id.removeprefix('ftjob-')}"
    assert (Path(job.folder) / ADAPTER_FILE).stat().st_size > 0
    log = messages(db, job.id)
    assert log[:2] == ["Job queued", "Job started"]
    assert log[2].startswith("Step 1/12: training loss=") and log[-1].startswith("Job succeeded")
    [validation] = [event.data for event in tune_jobs.list_events(db, "acme", job.id)
                    if event.message.startswith("Validation loss:")]
    assert validation["validation_loss_after"] < validation["validation_loss_before"] / 2
    [probe] = [event for event in tune_jobs.list_events(db, "acme", job.id)
               if event.data and "probe" in event.data]
    assert probe.data["probe"] == {"questions": 2, "base_correct": 0, "tuned_correct": 2}
    assert probe.message.startswith("Probe: 2 questions from the training data")
    [last_step] = [event for event in tune_jobs.list_events(db, "acme", job.id)
                   if event.data and event.data.get("step") == STEPS]
    assert last_step.data["train_loss"] == pytest.approx(done.loss)


def test_a_bad_training_file_or_setting_is_refused_before_anything_is_queued(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(InvalidTrainingFile, match="line 1: has no assistant message"):
        submit(db, ALICE, model="toy", base_path=toy_qwen2_gguf, training_file=bad,
               jobs_root=tmp_path / "jobs")
    good = job_config(toy_qwen2_gguf, tmp_path / "upload").training_file
    for settings in ({"epochs": 0}, {"epochs": 1.5}, {"warmup": 3}):
        with pytest.raises(InvalidRequest, match="hyperparameter"):
            submit(db, ALICE, model="toy", base_path=toy_qwen2_gguf, training_file=good,
                   jobs_root=tmp_path / "jobs", hyperparameters=settings)
    assert tune_jobs.list_jobs(db, "acme") == []


def test_another_org_can_neither_see_nor_cancel_a_job(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    job = queue(db, toy_qwen2_gguf, tmp_path)
    assert tune_jobs.list_jobs(db, "globex") == []
    for call in (tune_jobs.get_job, tune_jobs.list_events, tune_jobs.request_cancel):
        with pytest.raises(NotFound):
            call(db, "globex", job.id)
    assert [listed.id for listed in tune_jobs.list_jobs(db, "acme")] == [job.id]


def test_a_queued_job_cancels_at_once_and_a_running_one_after_its_step(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    queued = queue(db, toy_qwen2_gguf, tmp_path / "a")
    assert tune_jobs.request_cancel(db, "acme", queued.id).status == "cancelled"
    with pytest.raises(InvalidRequest, match="already cancelled"):
        tune_jobs.request_cancel(db, "acme", queued.id)

    running = queue(db, toy_qwen2_gguf, tmp_path / "b")
    claimed = tune_jobs.claim_next(db)
    assert claimed.id == running.id and claimed.status == "running"
    assert tune_jobs.request_cancel(db, "acme", running.id).status == "running"
    run_job(db, claimed)  # the worker took the job before the cancellation came
    stopped = tune_jobs.get_job(db, "acme", running.id)
    assert (stopped.status, stopped.step) == ("cancelled", 1)
    assert not (Path(running.folder) / ADAPTER_FILE).exists()


def test_a_job_left_running_by_a_stopped_worker_resumes_from_its_checkpoint(
        sqlite_db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    job = queue(sqlite_db, toy_qwen2_gguf, tmp_path)
    claimed = tune_jobs.claim_next(sqlite_db)
    # The worker dies after step 6: checkpoint-4 is on disk, the row still says running.
    config = job_config(toy_qwen2_gguf, Path(claimed.folder))
    steps: list[int] = []
    train(config, lambda progress: steps.append(progress.step), lambda: len(steps) >= 6)

    assert run_next(sqlite_db) == job.id

    done = tune_jobs.get_job(sqlite_db, "acme", job.id)
    assert (done.status, done.step) == ("succeeded", STEPS)
    log = messages(sqlite_db, job.id)
    [resumed] = [index for index, message in enumerate(log)
                 if message.startswith("Job resumed after step 0 (attempt 2 of 3)")]
    assert log[resumed + 1].startswith("Step 5/12")


def test_the_worker_process_runs_what_is_queued_then_waits(
        sqlite_db: Database, sqlite_path: Path, toy_qwen2_gguf: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    job = queue(sqlite_db, toy_qwen2_gguf, tmp_path)
    monkeypatch.setenv("HEARTH_DATABASE_URL", f"sqlite:///{sqlite_path}")
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))  # where the worker's lock is

    class Idle(Exception):
        """Raised where the worker would sleep: it has nothing left to do."""

    def idle(seconds: float) -> None:
        raise Idle

    monkeypatch.setattr(worker.time, "sleep", idle)
    with pytest.raises(Idle):
        worker.main()
    assert tune_jobs.get_job(sqlite_db, "acme", job.id).status == "succeeded"


def test_a_job_cancelled_while_its_worker_was_down_is_closed_without_training(
        db: Database, toy_qwen2_gguf: Path, tmp_path: Path) -> None:
    job = queue(db, toy_qwen2_gguf, tmp_path)
    tune_jobs.claim_next(db)  # the worker that claimed it stops here
    tune_jobs.request_cancel(db, "acme", job.id)

    assert run_next(db) == job.id

    closed = tune_jobs.get_job(db, "acme", job.id)
    assert (closed.status, closed.step) == ("cancelled", 0)
    assert not (Path(job.folder) / "checkpoints").exists()
