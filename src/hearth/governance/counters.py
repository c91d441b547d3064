"""Counters in the database, so every worker process sees the same counts.

One row per subject (a key, user or org), metric and time window, bumped with an atomic
upsert. The caller holds the write lock (``Database.locked_session``), so a read-check-bump
never interleaves with another worker's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hearth.store.tables import UsageCounter


def bump(session: Session, subject: str, metric: str, window_start: int, amount: int = 1) -> int:
    """Add ``amount`` to a counter (creating it at 0) and return the new count."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(UsageCounter).values(subject=subject, metric=metric,
                                            window_start=window_start, count=amount)
    statement = statement.on_conflict_do_update(
        index_elements=["subject", "metric", "window_start"],
        set_={"count": UsageCounter.count + amount},
    ).returning(UsageCounter.count)
    return int(session.execute(statement).scalar_one())


def read(session: Session, subject: str, metric: str, window_start: int) -> int:
    count = session.scalar(select(UsageCounter.count).where(
        UsageCounter.subject == subject, UsageCounter.metric == metric,
        UsageCounter.window_start == window_start))
    return int(count or 0)
