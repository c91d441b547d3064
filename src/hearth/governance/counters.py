"""Counters in the database, so every worker process sees the same counts.

One row per subject (a key, user or org), metric and time window, bumped with an atomic
upsert (the same SQL on SQLite and PostgreSQL). The caller holds the write lock
(``Database.locked_connection``), so a read-check-bump never interleaves with another
worker's. A request reads and bumps several counters at once: one statement each way.
"""

from __future__ import annotations

from hearth.governance.driver_sql import DriverSQL

Key = tuple[str, str, int]  # subject, metric, window start


def read(sql: DriverSQL, subjects: list[str], windows: list[int]) -> dict[Key, int]:
    """Every counter of these subjects in these windows (missing ones count 0)."""
    if not subjects:
        return {}
    params: dict[str, object] = {f"s{i}": s for i, s in enumerate(subjects)}
    params.update({f"w{i}": w for i, w in enumerate(windows)})
    rows = sql.all(
        "SELECT subject, metric, window_start, count FROM usage_counters WHERE subject IN ("
        + ", ".join(f":s{i}" for i in range(len(subjects))) + ") AND window_start IN ("
        + ", ".join(f":w{i}" for i in range(len(windows))) + ")", params)
    return {(subject, metric, int(window)): int(count) for subject, metric, window, count in rows}


def bump(sql: DriverSQL, amounts: dict[Key, int]) -> None:
    """Add each amount to its counter, creating counters at 0."""
    if not amounts:
        return
    params: dict[str, object] = {}
    for i, ((subject, metric, window), amount) in enumerate(sorted(amounts.items())):
        params.update({f"s{i}": subject, f"m{i}": metric, f"w{i}": window, f"n{i}": amount})
    values = ", ".join(f"(:s{i}, :m{i}, :w{i}, :n{i})" for i in range(len(amounts)))
    sql.execute(f"INSERT INTO usage_counters (subject, metric, window_start, count) "
                f"VALUES {values} ON CONFLICT (subject, metric, window_start) "
                "DO UPDATE SET count = usage_counters.count + excluded.count", params)
