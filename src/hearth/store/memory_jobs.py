"""The memory write queue: a chat turn's words wait here until the memory worker extracts
memories from them, so a crash between the answer and the extraction loses nothing.

Jobs live in the database, not in the worker's memory; a worker claims a few at a time (several
server workers never run one twice), and a claimed job whose worker died is pending again after
``JOB_LEASE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tables import MemoryJob, utcnow


@dataclass(frozen=True)
class Job:
    id: int
    org_id: str
    user_id: str
    payload: dict[str, Any]
    attempts: int


def enqueue_job(db: Database, owner: Owner, payload: dict[str, Any]) -> int:
    with db.session() as session:
        now = utcnow()
        job = MemoryJob(org_id=owner.org_id, user_id=owner.user_id, payload=payload,
                        status="pending", attempts=0, created_at=now, updated_at=now)
        session.add(job)
        session.flush()
        return job.id


JOB_LEASE = timedelta(minutes=10)  # a claimed job not finished by then was lost with its worker


def claim_jobs(db: Database, *, limit: int = 16, max_attempts: int = 3) -> list[Job]:
    """Take the oldest pending jobs for this worker, so that with several server workers
    each job runs once. A job claimed longer than ``JOB_LEASE`` ago (its worker died) is
    pending again; a job that failed ``max_attempts`` times is left alone."""
    now = utcnow()
    with db.locked_session() as session:
        rows = list(session.scalars(select(MemoryJob).where(
            (MemoryJob.status == "pending")
            | ((MemoryJob.status == "running") & (MemoryJob.updated_at < now - JOB_LEASE)),
            MemoryJob.attempts < max_attempts,
        ).order_by(MemoryJob.id).limit(limit).with_for_update(skip_locked=True)))
        for row in rows:
            row.status, row.updated_at = "running", now
        return [Job(r.id, r.org_id, r.user_id, r.payload, r.attempts) for r in rows]


def finish_job(db: Database, job_id: int, *, error: str | None = None) -> None:
    """Remove a done job (its payload holds the user's words, which the messages table and
    the memories already keep), or count a failed attempt (retried until max_attempts)."""
    with db.session() as session:
        job = session.get(MemoryJob, job_id)
        if job is None:
            return
        if error is None:
            session.delete(job)
            return
        job.status = "pending"
        job.updated_at = utcnow()
        job.attempts += 1
        job.error = error[:2000]


def count_pending_jobs(db: Database) -> int:
    """Jobs not done yet, claimed or not."""
    with db.session() as session:
        return session.scalar(select(func.count(MemoryJob.id))
                              .where(MemoryJob.status.in_(("pending", "running")))) or 0
