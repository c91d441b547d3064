"""Counters in the database, so every worker process sees the same counts.

One row per subject (a key, user or org), metric and time window, bumped with an atomic
upsert (the same SQL on SQLite and PostgreSQL). The caller holds the write lock
(``Database.locked_connection``), so a read-check-bump never interleaves with another
worker's.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_BUMP = text(
    "INSERT INTO usage_counters (subject, metric, window_start, count) "
    "VALUES (:subject, :metric, :window, :amount) "
    "ON CONFLICT (subject, metric, window_start) "
    "DO UPDATE SET count = usage_counters.count + :amount RETURNING count")
_READ = text("SELECT count FROM usage_counters "
             "WHERE subject = :subject AND metric = :metric AND window_start = :window")


def bump(connection: Connection, subject: str, metric: str, window_start: int,
         amount: int = 1) -> int:
    """Add ``amount`` to a counter (creating it at 0) and return the new count."""
    return int(connection.execute(_BUMP, {"subject": subject, "metric": metric,
                                          "window": window_start, "amount": amount}).scalar_one())


def read(connection: Connection, subject: str, metric: str, window_start: int) -> int:
    count = connection.execute(_READ, {"subject": subject, "metric": metric,
                                       "window": window_start}).scalar()
    return int(count or 0)
