"""The governance side of ``hearth bench gateway``: keys on plans with real limits, and the
checks that no key went over its quota and that usage and audit match what was answered.

The measured key's plan has limits at every level (key, user, org) that the load never
reaches, so every request pays for the whole check, counters included, without being
refused. A second key on a tight plan is driven past its limit to show the limit holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select

from hearth.governance import audit, tenancy
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.store.db import Database
from hearth.store.tables import UsageRecord

OPERATOR = "hearth bench gateway"
BENCH_LIMITS = PlanLimits(
    requests_per_minute=LevelLimits(key=10_000_000, user=10_000_000, org=10_000_000),
    tokens_per_day=LevelLimits(key=10**10, user=10**10, org=10**10),
    concurrent_streams=LevelLimits(key=4096, user=4096, org=4096),
)
TIGHT_REQUESTS_PER_MINUTE = 1000


@dataclass(frozen=True)
class BenchKeys:
    measured: str  # limits far above the load: checked on every request, never refusing
    tight: str  # TIGHT_REQUESTS_PER_MINUTE: the quota phase drives it past that


def provision(database_url: str) -> BenchKeys:
    """Plans, an org, a user and two keys in the database the server will use."""
    db = Database(database_url)
    db.migrate()
    try:
        tenancy.set_plan(db, OPERATOR, "bench", priority=1, limits=BENCH_LIMITS)
        tenancy.set_plan(db, OPERATOR, "bench-tight", priority=0, limits=PlanLimits(
            requests_per_minute=LevelLimits(key=TIGHT_REQUESTS_PER_MINUTE)))
        tenancy.create_org(db, OPERATOR, "bench", plan="bench")
        tenancy.create_user(db, OPERATOR, "bench", "alice", role="member")
        tenancy.create_user(db, OPERATOR, "bench", "tom", role="member", plan="bench-tight")
        measured = tenancy.create_key(db, OPERATOR, "bench", "alice", scopes=["chat"])
        tight = tenancy.create_key(db, OPERATOR, "bench", "tom", scopes=["chat"])
        return BenchKeys(measured.secret, tight.secret)
    finally:
        db.dispose()


def seconds_into_minute() -> float:
    return time.time() % 60


def wait_for_minute_start(margin_s: float = 1.0) -> None:
    """Sleep until just after a minute begins, so a short run stays in one quota window."""
    time.sleep((60 - seconds_into_minute() + margin_s) % 60)


def usage_and_audit(database_url: str, acknowledged: int) -> dict:
    """Whether every acknowledged request has a usage record and the audit chain is intact."""
    db = Database(database_url)
    try:
        with db.session() as session:
            metered = session.scalar(select(func.count()).select_from(UsageRecord)
                                     .where(UsageRecord.status == 200)) or 0
        verified = audit.verify(db)
    finally:
        db.dispose()
    return {"acknowledged": acknowledged, "metered_200": int(metered),
            "audit_entries": verified.length, "audit_intact": verified.ok,
            "consistent": metered >= acknowledged and verified.ok}
