"""The fine-tuning worker: a process of its own (``python -m hearth.tune.worker``), never the
server's event loop, that runs one job at a time from the database.

It takes first a job that was running when a worker stopped, and resumes it from that job's last
checkpoint; then the oldest queued job. Each step's loss and pace go to the job's row and events;
a cancellation asked through the store is seen after the next step. A finished run's adapter is
exported to ``adapter.gguf`` in the job's folder, the probe (``probe.py``) asks the base and the
tuned model questions from the training data through llama.cpp, and the job names its model
(``jobs.fine_tuned_model_name``). A job that fails gets its error as the job's, and the worker
goes on to the next.

It holds the machine's worker lock (``launcher.worker_lock``) for its whole life, exits at once
if another worker holds it, and exits once it has had nothing to do for
``tune_worker_idle_seconds``: a server starts it again when the next job is queued.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hearth.config import Settings
from hearth.errors import HearthError
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.tune_jobs import JobRecord
from hearth.tune.export import export_adapter
from hearth.tune.jobs import ADAPTER_FILE, TRAINING_FILE, VALIDATION_FILE, fine_tuned_model_name
from hearth.tune.launcher import LOCK_PATIENCE_SECONDS, worker_lock
from hearth.tune.probe import run_probe
from hearth.tune.train import Progress, TrainConfig, train

log = logging.getLogger(__name__)


def run_next(db: Database) -> str | None:
    """Run the next job to its end (or its cancellation); its id, or None if none was waiting."""
    job = tune_jobs.claim_next(db)
    if job is None:
        return None
    run_job(db, job)
    return job.id


def run_job(db: Database, job: JobRecord) -> None:
    """Train, export and close one claimed job."""
    if job.cancel_requested:  # asked while its worker was down: no need to load the base
        tune_jobs.finish(db, job.id, "cancelled")
        return
    folder = Path(job.folder)
    validation = folder / VALIDATION_FILE
    config = TrainConfig(base=Path(job.base_path), training_file=folder / TRAINING_FILE,
                         job_dir=folder, validation_file=validation if validation.exists()
                         else None, **job.hyperparameters)
    cancelled = False

    def on_progress(progress: Progress) -> None:
        nonlocal cancelled
        cancelled = tune_jobs.record_step(
            db, job.id, progress.step, progress.total_steps, progress.loss,
            {"tokens_per_second": round(progress.tokens_per_second, 2),
             "seconds_left": round(progress.seconds_left, 1), "tokens": progress.tokens},
            trained_tokens=progress.tokens,
            estimated_finish=datetime.now(UTC) + timedelta(seconds=progress.seconds_left))

    try:
        result = train(config, on_progress, should_stop=lambda: cancelled)
        if result.stopped:
            tune_jobs.finish(db, job.id, "cancelled")
            return
        export_adapter(result.adapter_dir, config.base, folder / ADAPTER_FILE)
        if result.validation_loss_after is not None:
            before = result.validation_loss_before
            tune_jobs.add_event(
                db, job.id, f"Validation loss: {_figure(before)} before, "
                f"{result.validation_loss_after:.4f} after",
                data={"validation_loss_before": before,
                      "validation_loss_after": result.validation_loss_after})
        _probe(db, job.id, config.base, folder / ADAPTER_FILE, config.training_file)
    except HearthError as error:
        tune_jobs.finish(db, job.id, "failed", error=error.message,
                         error_code=error.code or "training_failed", error_param=error.param)
        return
    except Exception as error:  # a worker outlives one job's unexpected failure
        log.exception("fine-tuning job %s failed", job.id)
        tune_jobs.finish(db, job.id, "failed",
                         error=f"training failed unexpectedly ({type(error).__name__}: {error})",
                         error_code="training_failed")
        return
    tune_jobs.finish(db, job.id, "succeeded", fine_tuned_model=fine_tuned_model_name(job))


def _probe(db: Database, job_id: str, base: Path, adapter: Path, training_file: Path) -> None:
    """Record the probe's result as an event; a base llama.cpp cannot load (an HF folder) is
    said to be unprobed rather than failing a job whose adapter is written. An adapter
    llama.cpp cannot load does fail the job: it could not be served either."""
    if base.suffix != ".gguf":
        tune_jobs.add_event(db, job_id, "Probe: not run, the base is not a GGUF file that "
                            "llama.cpp can answer with")
        return
    result = run_probe(base, adapter, training_file)
    tune_jobs.add_event(db, job_id, result.message(), data={"probe": result.summary()})


def _figure(loss: float | None) -> str:
    return "not measured (resumed run)" if loss is None else f"{loss:.4f}"


def main(poll_seconds: float = 5.0) -> None:
    """Run jobs from the configured database until none has come for a while."""
    logging.basicConfig(level=logging.INFO)
    settings = Settings()
    with worker_lock(settings.home, patience=LOCK_PATIENCE_SECONDS) as held:
        if not held:
            log.info("another fine-tuning worker runs on this machine; leaving the jobs to it")
            return
        db = Database.from_settings(settings)
        db.migrate()
        idle_since = time.monotonic()
        while True:
            if run_next(db) is not None:
                idle_since = time.monotonic()
                continue
            idle = time.monotonic() - idle_since
            if idle >= settings.tune_worker_idle_seconds:
                log.info("no fine-tuning job for %.0f s; the worker stops", idle)
                return
            time.sleep(min(poll_seconds, settings.tune_worker_idle_seconds - idle))


if __name__ == "__main__":
    main()
