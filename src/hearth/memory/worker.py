"""The background worker that turns messages into memories, off the reply path.

Work is queued in the database (``memory_jobs``) before the reply is sent, so a restart
loses nothing: a new worker picks up every pending job. One worker thread per process does
the CPU work (extraction, embeddings) so the event loop keeps serving requests.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from hearth.memory.service import MemoryService
from hearth.store import memory_jobs
from hearth.store.memories import Owner, SourceRef

log = logging.getLogger(__name__)


def job_payload(*, text: str, speaker: str, said_at: datetime, message_id: int | None,
                conversation_id: str | None, previous: str | None) -> dict[str, Any]:
    return {"text": text, "speaker": speaker, "said_at": said_at.isoformat(),
            "message_id": message_id, "conversation_id": conversation_id, "previous": previous}


def run_job(service: MemoryService, job: memory_jobs.Job) -> None:
    """Remember one queued message; the same path as every other write to memory."""
    p = job.payload
    service.remember(
        Owner(job.org_id, job.user_id), p["text"], speaker=p["speaker"],
        said_at=datetime.fromisoformat(p["said_at"]),
        source=SourceRef(message_id=p.get("message_id"),
                         conversation_id=p.get("conversation_id"), excerpt=p["text"]),
        previous=p.get("previous"),
    )


class MemoryWorker:
    def __init__(self, service: MemoryService, poll_seconds: float = 2.0):
        self.service = service
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hearth-memory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """New work was queued: look now instead of at the next poll."""
        self._idle.clear()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def wait_idle(self, timeout: float) -> bool:
        """Block until the queue is drained (tests and the CLI use this)."""
        return self._idle.wait(timeout)

    def drain(self) -> int:
        """Process pending jobs until none are left; returns how many ran."""
        done = 0
        while not self._stop.is_set():
            jobs = memory_jobs.claim_jobs(self.service.db)
            if not jobs:
                return done
            for job in jobs:
                try:
                    run_job(self.service, job)
                    memory_jobs.finish_job(self.service.db, job.id)
                except Exception as exc:  # one bad message must not stop the queue
                    log.exception("memory job %s failed", job.id)
                    memory_jobs.finish_job(self.service.db, job.id, error=repr(exc))
                done += 1
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self.drain()
            if not self._wake.is_set():
                self._idle.set()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
