"""Counters in the database, so every worker process sees the same counts.

One row per subject (a key, user or org), metric and time window, bumped with an atomic
upsert (the same SQL on SQLite and PostgreSQL). The caller holds the write lock
(``Database.locked_connection``), so a read-check-bump never interleaves with another
worker's. A request reads and bumps several counters at once: one statement each way.
"""

from __future__ import annotations

from functools import cache

from hearth.governance.driver_sql import DriverSQL

Key = tuple[str, str, int]  # subject, metric, window start


@cache
def _names(prefixes: str, count: int) -> tuple[tuple[str, ...], ...]:
    """Parameter names, one tuple per row: ``_names("sw", 2)`` is (("s0", "w0"), ("s1", "w1"))."""
    return tuple(tuple(f"{p}{i}" for p in prefixes) for i in range(count))


@cache
def _read_sql(subjects: int, windows: int) -> str:
    return ("SELECT subject, metric, window_start, count FROM usage_counters WHERE subject IN ("
            + ", ".join(f":s{i}" for i in range(subjects)) + ") AND window_start IN ("
            + ", ".join(f":w{i}" for i in range(windows)) + ")")


@cache
def _bump_sql(counters: int) -> str:
    values = ", ".join(f"(:s{i}, :m{i}, :w{i}, :n{i})" for i in range(counters))
    return (f"INSERT INTO usage_counters (subject, metric, window_start, count) "
            f"VALUES {values} ON CONFLICT (subject, metric, window_start) "
            "DO UPDATE SET count = usage_counters.count + excluded.count")


def read(sql: DriverSQL, subjects: list[str], windows: list[int]) -> dict[Key, int]:
    """Every counter of these subjects in these windows (missing ones count 0)."""
    if not subjects:
        return {}
    params: dict[str, object] = {name: s for (name,), s in zip(_names("s", len(subjects)),
                                                                subjects)}
    params.update({name: w for (name,), w in zip(_names("w", len(windows)), windows)})
    rows = sql.all(_read_sql(len(subjects), len(windows)), params)
    return {(subject, metric, int(window)): int(count) for subject, metric, window, count in rows}


def bump(sql: DriverSQL, amounts: dict[Key, int]) -> None:
    """Add each amount to its counter, creating counters at 0."""
    if not amounts:
        return
    params: dict[str, object] = {}
    for names, (key, amount) in zip(_names("smwn", len(amounts)), sorted(amounts.items())):
        params.update(zip(names, (*key, amount)))
    sql.execute(_bump_sql(len(amounts)), params)
