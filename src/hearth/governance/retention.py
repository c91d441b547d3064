"""Retention: each org says how long conversations and memories are kept; the purge deletes
what expired, from every table and index. Stored Responses API answers are conversations
too, and go with the conversations' retention, as do fine-tuning training files (uploads,
and the copies in finished jobs' folders): they are conversations written for the model. It
also drops spent quota counters and leases.

Each org is purged on its own: one that fails (a setting stored before retention was bounded,
a database error) is logged and put on the audit log, and every other org is purged all the
same, so one tenant can never stop retention for the rest."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from hearth.governance import audit
from hearth.governance.gate import release_expired
from hearth.store import conversations, files, tune_jobs
from hearth.store import memories as memory_store
from hearth.store import responses
from hearth.store.db import Database
from hearth.store.tables import Org, UsageCounter

log = logging.getLogger(__name__)

COUNTER_KEEP = timedelta(days=2)  # the longest window (a day) plus slack


@dataclass
class Purged:
    conversations: int = 0
    responses: int = 0
    memories: int = 0
    files: int = 0  # uploaded files, and training data copied into finished jobs
    counters: int = 0
    leases: int = 0
    failed: list[str] = field(default_factory=list)  # orgs whose purge failed this time


def purge(db: Database, *, actor: str = "hearth (retention)",
          now: datetime | None = None) -> Purged:
    now = now or datetime.now(UTC)
    result = Purged()
    with db.session() as session:
        orgs = session.execute(select(Org.id, Org.conversation_retention_days,
                                      Org.memory_retention_days)).all()
    for org_id, conversation_days, memory_days in orgs:
        try:
            done = _purge_org(db, org_id, conversation_days, memory_days, actor, now)
        except Exception as exc:  # noqa: BLE001 - isolate the org, purge the others
            log.error("retention purge of org %r failed: %s: %s", org_id,
                      type(exc).__name__, exc)
            result.failed.append(org_id)
            _record_failure(db, org_id, exc, actor)
            continue
        result.conversations += done.conversations
        result.responses += done.responses
        result.memories += done.memories
        result.files += done.files
    with db.locked_connection(relaxed=True) as connection:
        oldest_window = int((now - COUNTER_KEEP).timestamp())
        result.counters = connection.execute(delete(UsageCounter).where(
            UsageCounter.window_start < oldest_window)).rowcount or 0
        result.leases = release_expired(connection, now)
    return result


def _purge_org(db: Database, org_id: str, conversation_days: int | None,
               memory_days: int | None, actor: str, now: datetime) -> Purged:
    done = Purged()
    if conversation_days is not None:
        cutoff = now - timedelta(days=conversation_days)
        done.conversations = conversations.delete_idle_before(db, org_id, cutoff)
        done.responses = responses.delete_created_before(db, org_id, cutoff)
        done.files = (files.delete_created_before(db, org_id, cutoff)
                      + tune_jobs.forget_training_data_before(db, org_id, cutoff))
    if memory_days is not None:
        done.memories = memory_store.delete_recorded_before(
            db, org_id, now - timedelta(days=memory_days))
    if done.conversations or done.responses or done.memories or done.files:
        audit.record(db, actor=actor, action="retention.purge", org_id=org_id,
                     target=org_id, details={"conversations": done.conversations,
                                             "responses": done.responses,
                                             "memories": done.memories, "files": done.files})
    return done


def _record_failure(db: Database, org_id: str, exc: Exception, actor: str) -> None:
    try:
        audit.record(db, actor=actor, action="retention.failed", org_id=org_id,
                     target=org_id, details={"error": f"{type(exc).__name__}: {exc}"[:500]})
    except Exception:  # noqa: BLE001 - the log line above already says what failed
        log.exception("could not audit the failed purge of org %r", org_id)
