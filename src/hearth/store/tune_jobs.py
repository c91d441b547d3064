"""Fine-tuning jobs and their events, as stored.

Reads for callers (``get_job``, ``list_jobs``, ``list_events``, ``request_cancel``) are narrowed
to one org by ``_in_org``: jobs belong to an org, like the models they make, and another org's
job behaves as one that does not exist. The worker's calls (``claim_next``, ``record_step``,
``add_event``, ``finish``) serve every org and take a job id it has claimed.

A job that crashes its worker (the process dies: out of memory, a native fault) is found still
running when a worker next claims; it is resumed from its checkpoint at most ``MAX_ATTEMPTS``
times in all, then failed, so one poisonous job cannot keep a machine's worker crashing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pathlib import Path

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from hearth.errors import InvalidRequest, NotFound
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.paging import ordered_after
from hearth.store.tables import TuneJob, TuneJobEvent, utcnow

FINISHED = ("succeeded", "failed", "cancelled")
MAX_ATTEMPTS = 3
# A job folder's copies of its data, the only user content in it (retention deletes them).
TRAINING_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"


@dataclass(frozen=True)
class JobRecord:
    id: str
    org_id: str
    user_id: str
    model: str
    base_path: str
    training_file: str
    folder: str
    hyperparameters: dict[str, Any]
    suffix: str | None
    status: str
    cancel_requested: bool
    step: int
    total_steps: int | None
    loss: float | None
    error: str | None
    fine_tuned_model: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    validation_file: str | None
    trained_tokens: int | None
    estimated_finish: datetime | None
    error_code: str | None
    error_param: str | None


@dataclass(frozen=True)
class EventRecord:
    id: int
    job_id: str
    created_at: datetime
    level: str
    message: str
    data: dict[str, Any] | None


def new_job_id() -> str:
    """A fresh job id, in OpenAI's shape (``ftjob-…``)."""
    return f"ftjob-{secrets.token_hex(12)}"


def _record(row: TuneJob) -> JobRecord:
    return JobRecord(**{name: getattr(row, name) for name in JobRecord.__dataclass_fields__})


def _in_org(statement: Select[Any], org_id: str) -> Select[Any]:
    """Narrow a query to one org. Every caller-facing read in this module goes through here."""
    return statement.where(TuneJob.org_id == org_id)


def _not_found(job_id: str) -> NotFound:
    return NotFound(f"No fine-tuning job {job_id!r} was found in this organisation.",
                    param="fine_tuning_job_id", code="fine_tuning_job_not_found")


def create_job(db: Database, owner: Owner, *, job_id: str, model: str, base_path: str,
               training_file: str, folder: str, hyperparameters: dict[str, Any],
               suffix: str | None = None, validation_file: str | None = None) -> JobRecord:
    """Queue a job; its ``folder`` must already hold what the worker will read."""
    with db.session() as session:
        row = TuneJob(id=job_id, org_id=owner.org_id, user_id=owner.user_id, model=model,
                      base_path=base_path, training_file=training_file, folder=folder,
                      hyperparameters=hyperparameters, suffix=suffix, status="queued",
                      cancel_requested=False, step=0, created_at=utcnow(), attempts=0,
                      validation_file=validation_file)
        session.add(row)
        session.add(TuneJobEvent(job_id=job_id, created_at=utcnow(), level="info",
                                 message="Job queued"))
        session.flush()
        return _record(row)


def get_job(db: Database, org_id: str, job_id: str) -> JobRecord:
    """The org's job; ``NotFound`` if the org has none with this id."""
    with db.session() as session:
        row = session.scalars(_in_org(select(TuneJob), org_id)
                              .where(TuneJob.id == job_id)).one_or_none()
        if row is None:
            raise _not_found(job_id)
        return _record(row)


def list_jobs(db: Database, org_id: str, limit: int = 20,
              after: str | None = None) -> list[JobRecord]:
    """The org's jobs, newest first; with ``after`` (a job id), those listed after it."""
    cursor = None
    if after is not None:
        last = get_job(db, org_id, after)
        cursor = (last.created_at, last.id)
    with db.session() as session:
        rows = session.scalars(ordered_after(_in_org(select(TuneJob), org_id),
                                             TuneJob.created_at, TuneJob.id, cursor)
                               .limit(limit))
        return [_record(row) for row in rows]


def list_events(db: Database, org_id: str, job_id: str, limit: int = 100,
                before: int | None = None) -> list[EventRecord]:
    """The job's newest ``limit`` events, newest first (as OpenAI lists them); with
    ``before`` (an event id), those older than it."""
    get_job(db, org_id, job_id)  # NotFound for another org's job
    statement = select(TuneJobEvent).where(TuneJobEvent.job_id == job_id)
    if before is not None:
        statement = statement.where(TuneJobEvent.id < before)
    with db.session() as session:
        rows = session.scalars(statement.order_by(TuneJobEvent.id.desc()).limit(limit))
        return [EventRecord(row.id, row.job_id, row.created_at, row.level, row.message,
                            row.data) for row in rows]


def request_cancel(db: Database, org_id: str, job_id: str) -> JobRecord:
    """Cancel the org's job: a queued one at once, a running one after its current step."""
    job = get_job(db, org_id, job_id)
    if job.status in FINISHED:
        raise InvalidRequest(f"job {job_id} has already {job.status}; only a queued or "
                             "running job can be cancelled", param="fine_tuning_job_id")
    with db.session() as session:
        cancelled_now = session.execute(
            update(TuneJob).where(TuneJob.id == job_id, TuneJob.status == "queued")
            .values(status="cancelled", finished_at=utcnow())).rowcount
        if not cancelled_now:
            session.execute(update(TuneJob).where(TuneJob.id == job_id)
                            .values(cancel_requested=True))
        session.add(TuneJobEvent(job_id=job_id, created_at=utcnow(), level="info",
                                 message="Job cancelled" if cancelled_now
                                 else "Cancellation requested"))
    return get_job(db, org_id, job_id)


def claim_next(db: Database, max_attempts: int = MAX_ATTEMPTS) -> JobRecord | None:
    """For the worker: a job left running by a worker that stopped (it resumes), else the
    oldest queued job, now marked running; None when there is nothing to do.

    One worker runs per machine, so a running job found here has no other worker: the one
    that took it stopped without closing it. A job taken ``max_attempts`` times already is
    failed here instead of being taken again.
    """
    with db.session() as session:
        for left in session.scalars(select(TuneJob).where(TuneJob.status == "running")
                                    .order_by(TuneJob.started_at)).all():
            if left.attempts >= max_attempts:
                _fail_crashing(session, left)
                continue
            left.attempts += 1
            session.add(TuneJobEvent(job_id=left.id, created_at=utcnow(), level="warn",
                                     message=f"Job resumed after step {left.step} (attempt "
                                             f"{left.attempts} of {max_attempts}): its "
                                             "previous worker stopped while running it"))
            session.flush()
            return _record(left)
        for row in session.scalars(select(TuneJob).where(TuneJob.status == "queued")
                                   .order_by(TuneJob.created_at, TuneJob.id)):
            claimed = session.execute(
                update(TuneJob).where(TuneJob.id == row.id, TuneJob.status == "queued")
                .values(status="running", started_at=utcnow(), attempts=1)).rowcount
            if claimed:
                session.add(TuneJobEvent(job_id=row.id, created_at=utcnow(), level="info",
                                         message="Job started"))
                session.flush()
                session.refresh(row)
                return _record(row)
    return None


def _fail_crashing(session: Session, row: TuneJob) -> None:
    """Close a job that crashed its worker too often: no worker will take it again."""
    message = (f"the job stopped its worker {row.attempts} times (the process crashed or was "
               "killed while training it, at step "
               f"{row.step}), so it is not retried: see the worker's log (tune/worker.log in "
               "the data folder); a base too large for this machine's memory is the usual cause")
    row.status, row.finished_at = "failed", utcnow()
    row.error, row.error_code = message, "worker_crashed"
    session.add(TuneJobEvent(job_id=row.id, created_at=utcnow(), level="error",
                             message=message))


def waiting(db: Database) -> bool:
    """Whether any org's job waits for a worker (queued, or left running by one that
    stopped)."""
    with db.session() as session:
        return session.scalar(select(TuneJob.id).where(TuneJob.status.in_(("queued", "running")))
                              .limit(1)) is not None


def record_step(db: Database, job_id: str, step: int, total_steps: int, loss: float,
                data: dict[str, Any], *, trained_tokens: int | None = None,
                estimated_finish: datetime | None = None) -> bool:
    """Save a training step's figures and log it; True if the job's cancellation was asked."""
    with db.session() as session:
        session.execute(update(TuneJob).where(TuneJob.id == job_id)
                        .values(step=step, total_steps=total_steps, loss=loss,
                                trained_tokens=trained_tokens,
                                estimated_finish=estimated_finish))
        session.add(TuneJobEvent(job_id=job_id, created_at=utcnow(), level="info",
                                 message=f"Step {step}/{total_steps}: training loss={loss:.4f}",
                                 data={"step": step, "total_steps": total_steps,
                                       "train_loss": loss, **data}))
        return bool(session.scalar(select(TuneJob.cancel_requested)
                                   .where(TuneJob.id == job_id)))


def add_event(db: Database, job_id: str, message: str, level: str = "info",
              data: dict[str, Any] | None = None) -> None:
    with db.session() as session:
        session.add(TuneJobEvent(job_id=job_id, created_at=utcnow(), level=level,
                                 message=message, data=data))


def finish(db: Database, job_id: str, status: str, *, error: str | None = None,
           fine_tuned_model: str | None = None, error_code: str | None = None,
           error_param: str | None = None) -> None:
    """Close the job as ``status`` (one of FINISHED), with its error or its model's name."""
    if status not in FINISHED:
        raise ValueError(f"a job finishes as one of {FINISHED}, not {status!r}")
    with db.session() as session:
        session.execute(update(TuneJob).where(TuneJob.id == job_id)
                        .values(status=status, error=error, fine_tuned_model=fine_tuned_model,
                                finished_at=utcnow(), estimated_finish=None,
                                error_code=error_code if error else None,
                                error_param=error_param if error else None))
        session.add(TuneJobEvent(job_id=job_id, created_at=utcnow(),
                                 level="error" if status == "failed" else "info",
                                 message=error if status == "failed"
                                 else f"Job {status}" + (f": {fine_tuned_model}"
                                                         if fine_tuned_model else "")))


def forget_training_data_before(db: Database, org_id: str, cutoff: datetime) -> int:
    """Retention: delete the copies of training data in the folders of the org's finished
    jobs created before ``cutoff`` (the adapter and the job's record stay); returns how many
    files went."""
    with db.session() as session:
        folders = session.scalars(_in_org(select(TuneJob.folder), org_id).where(
            TuneJob.created_at < cutoff, TuneJob.status.in_(FINISHED))).all()
    removed = 0
    for folder in folders:
        for name in (TRAINING_FILE, VALIDATION_FILE):
            copy = Path(folder) / name
            if copy.exists():
                copy.unlink()
                removed += 1
    return removed


def succeeded_jobs(db: Database, org_id: str) -> list[JobRecord]:
    """The org's succeeded jobs, oldest first: each names the model it made."""
    with db.session() as session:
        rows = session.scalars(_in_org(select(TuneJob), org_id)
                               .where(TuneJob.status == "succeeded",
                                      TuneJob.fine_tuned_model.is_not(None))
                               .order_by(TuneJob.finished_at, TuneJob.id))
        return [_record(row) for row in rows]


def job_of_model(db: Database, org_id: str, fine_tuned_model: str) -> JobRecord | None:
    """The org's succeeded job that made ``fine_tuned_model``; None for another org's model."""
    with db.session() as session:
        row = session.scalars(_in_org(select(TuneJob), org_id)
                              .where(TuneJob.status == "succeeded",
                                     TuneJob.fine_tuned_model == fine_tuned_model)).first()
        return None if row is None else _record(row)
