"""Usage reports: what was used, summed by user, key, model or org over a time range."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from sqlalchemy import func, select

from hearth.errors import InvalidRequest
from hearth.store.db import Database
from hearth.store.tables import UsageRecord

GroupBy = Literal["user", "key", "model", "org"]


@dataclass(frozen=True)
class UsageRow:
    group: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    energy_joules: float
    busy_seconds: float
    mean_ttft_ms: float | None


def parse_time(value: str | None, param: str) -> datetime | None:
    """A report bound: a date or an ISO time; without an offset it is read as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{param} must be a date or time like 2026-11-01 or "
                             "2026-11-01T12:00.", param=param) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _group_column(group_by: GroupBy):
    if group_by == "user":
        return UsageRecord.org_id + "/" + UsageRecord.user_id
    if group_by == "key":
        return func.coalesce(UsageRecord.key_id, "(no key)")
    if group_by == "model":
        return UsageRecord.model
    return UsageRecord.org_id


def report(db: Database, *, group_by: GroupBy = "user", org_id: str | None = None,
           start: datetime | None = None, end: datetime | None = None) -> list[UsageRow]:
    """Sums per group for requests recorded in [start, end); ``org_id`` narrows to one org."""
    group = _group_column(group_by).label("group")
    query = select(
        group, func.count(), func.sum(UsageRecord.prompt_tokens),
        func.sum(UsageRecord.completion_tokens), func.sum(UsageRecord.energy_joules),
        func.sum(UsageRecord.duration_ms), func.avg(UsageRecord.ttft_ms),
    ).group_by(group).order_by(group)
    if org_id is not None:
        query = query.where(UsageRecord.org_id == org_id)
    if start is not None:
        query = query.where(UsageRecord.at >= start)
    if end is not None:
        query = query.where(UsageRecord.at < end)
    with db.session() as session:
        rows = session.execute(query).all()
    return [UsageRow(group=g, requests=int(n), prompt_tokens=int(p or 0),
                     completion_tokens=int(c or 0), energy_joules=round(float(e or 0), 3),
                     busy_seconds=round(float(d or 0) / 1000, 3),
                     mean_ttft_ms=round(float(t), 2) if t is not None else None)
            for g, n, p, c, e, d, t in rows]


def to_csv(rows: list[UsageRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(UsageRow.__dataclass_fields__))
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return out.getvalue()


@dataclass(frozen=True)
class DayRow:
    date: str  # YYYY-MM-DD, UTC
    requests: int
    tokens: int
    energy_joules: float


def daily(db: Database, org_id: str, user_id: str, *, days: int = 30) -> list[DayRow]:
    """One user's use per UTC day over the last ``days`` days, oldest first, empty days
    included (a chart needs them). Summed here rather than in SQL: dates are written
    differently on SQLite and PostgreSQL, and one user's month is a few thousand rows."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    totals = {first + timedelta(days=i): [0, 0, 0.0] for i in range(days)}
    query = select(UsageRecord.at, UsageRecord.prompt_tokens + UsageRecord.completion_tokens,
                   UsageRecord.energy_joules).where(
        UsageRecord.org_id == org_id, UsageRecord.user_id == user_id,
        UsageRecord.at >= datetime.combine(first, time(), UTC))
    with db.session() as session:
        for at, tokens, energy in session.execute(query):
            day = totals.get(at.astimezone(UTC).date())
            if day is not None:
                day[0] += 1
                day[1] += int(tokens or 0)
                day[2] += float(energy or 0)
    return [DayRow(d.isoformat(), n, t, round(e, 3)) for d, (n, t, e) in totals.items()]


def tokens_today(db: Database, *, org_id: str, user_id: str | None = None,
                 key_id: str | None = None) -> int:
    """Tokens used since 00:00 UTC (the day the token quota counts) by an org, one of its
    users or one key."""
    midnight = datetime.combine(datetime.now(UTC).date(), time(), UTC)
    query = select(func.sum(UsageRecord.prompt_tokens + UsageRecord.completion_tokens)).where(
        UsageRecord.org_id == org_id, UsageRecord.at >= midnight)
    if user_id is not None:
        query = query.where(UsageRecord.user_id == user_id)
    if key_id is not None:
        query = query.where(UsageRecord.key_id == key_id)
    with db.session() as session:
        return int(session.scalar(query) or 0)
