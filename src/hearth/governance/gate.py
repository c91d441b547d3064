"""The door every API request goes through: who is calling, and may they, now?

``admit`` resolves the bearer key to a principal (key → user → org → plan, role and scopes)
and checks the plan's limits in one short transaction: requests per minute, and for
requests that generate, tokens per day and concurrent streams, at the key, user and org
level. ``settle`` releases the stream and records what the request cost. Everything lives
in the database, so limits hold across server workers and a revoked key stops working on
its next request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from hearth.errors import RateLimited, Unauthorized
from hearth.governance import counters
from hearth.governance.keys import prefix_of, secret_matches
from hearth.governance.plans import LEVELS, Level, limit
from hearth.governance.principal import LOCAL_ORG, LOCAL_USER, Principal
from hearth.governance.roles import ROLE_SCOPES, SCOPES, Role
from hearth.store.db import Database
from hearth.store.tables import ApiKey, Org, Plan, StreamLease, UsageRecord, User

LEASE_SECONDS = 600  # a stream held longer than this (or by a dead worker) stops counting


@dataclass(frozen=True)
class Pass:
    """An admitted request: who it is, and the stream lease it holds (if it generates)."""

    principal: Principal
    lease_id: int | None = None


@dataclass(frozen=True)
class Cost:
    model: str
    route: str
    status: int
    duration_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float | None = None
    energy_joules: float = 0.0


def _subject(principal: Principal, level: Level) -> str | None:
    if level == "key":
        return f"key:{principal.key_id}" if principal.key_id else None
    if level == "user":
        return f"user:{principal.org_id}/{principal.user_id}"
    return f"org:{principal.org_id}"


def _resolve(session: Session, secret: str | None) -> Principal:
    prefix = prefix_of(secret) if secret else None
    row = None
    if prefix is not None:
        row = session.execute(
            select(ApiKey.id, ApiKey.salt, ApiKey.hash, ApiKey.org_id, ApiKey.user_id,
                   ApiKey.scopes, ApiKey.expires_at, ApiKey.revoked_at, User.role,
                   Plan.name, Plan.priority, Plan.limits)
            .join(User, (User.org_id == ApiKey.org_id) & (User.user_id == ApiKey.user_id))
            .join(Org, Org.id == ApiKey.org_id)
            .join(Plan, Plan.name == func.coalesce(User.plan, Org.plan))
            .where(ApiKey.prefix == prefix)
        ).first()
    if row is None:
        if session.scalar(select(ApiKey.id).limit(1)) is not None:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'."
                               if not secret else "Invalid API key.")
        return _local_principal(session)
    if not secret_matches(secret or "", row.salt, row.hash):
        raise Unauthorized("Invalid API key.")
    if row.revoked_at is not None:
        raise Unauthorized("This API key was revoked.", code="revoked_api_key")
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        raise Unauthorized("This API key has expired.", code="expired_api_key")
    role = Role(row.role)
    return Principal(org_id=row.org_id, user_id=row.user_id, role=role,
                     scopes=frozenset(row.scopes) & ROLE_SCOPES[role], plan=row.name,
                     priority=row.priority, limits=row.limits, key_id=row.id)


def _local_principal(session: Session) -> Principal:
    """No key exists yet: a single-user install, open on 127.0.0.1, as the local owner."""
    plan = session.execute(select(Plan.name, Plan.priority, Plan.limits)
                           .join(Org, Org.plan == Plan.name).where(Org.id == LOCAL_ORG)).one()
    return Principal(org_id=LOCAL_ORG, user_id=LOCAL_USER, role=Role.OWNER,
                     scopes=frozenset(SCOPES), plan=plan.name, priority=plan.priority,
                     limits=plan.limits)


def _seconds_to_next(now: datetime, period: int) -> int:
    return max(1, math.ceil(period - now.timestamp() % period))


def _count_request(session: Session, principal: Principal, now: datetime) -> None:
    window = int(now.timestamp()) // 60 * 60
    for level in LEVELS:
        allowed = limit(principal.limits, "requests_per_minute", level)
        subject = _subject(principal, level)
        if allowed is None or subject is None:
            continue
        if counters.bump(session, subject, "requests", window) > allowed:
            raise RateLimited(f"Rate limit reached: {allowed} requests per minute per {level} "
                              f"on the {principal.plan!r} plan.",
                              retry_after=_seconds_to_next(now, 60))


def _check_tokens(session: Session, principal: Principal, now: datetime) -> None:
    day = int(now.timestamp()) // 86400 * 86400
    for level in LEVELS:
        allowed = limit(principal.limits, "tokens_per_day", level)
        subject = _subject(principal, level)
        if allowed is not None and subject is not None and \
                counters.read(session, subject, "tokens", day) >= allowed:
            raise RateLimited(f"Token quota reached: {allowed} tokens per day per {level} "
                              f"on the {principal.plan!r} plan.",
                              retry_after=_seconds_to_next(now, 86400))


def _live_streams(session: Session, principal: Principal, level: Level, now: datetime) -> int:
    where = [StreamLease.org_id == principal.org_id, StreamLease.expires_at > now]
    if level == "key":
        where.append(StreamLease.key_id == principal.key_id)
    elif level == "user":
        where.append(StreamLease.user_id == principal.user_id)
    return int(session.scalar(select(func.count()).select_from(StreamLease).where(*where)) or 0)


def _take_lease(session: Session, principal: Principal, now: datetime) -> int | None:
    limited = False
    for level in LEVELS:
        allowed = limit(principal.limits, "concurrent_streams", level)
        if allowed is None or _subject(principal, level) is None:
            continue
        limited = True
        if _live_streams(session, principal, level, now) >= allowed:
            raise RateLimited(f"Too many concurrent requests: {allowed} per {level} on the "
                              f"{principal.plan!r} plan; retry when one finishes.")
    if not limited:
        return None
    return int(session.execute(insert(StreamLease).values(
        org_id=principal.org_id, user_id=principal.user_id, key_id=principal.key_id,
        expires_at=now + timedelta(seconds=LEASE_SECONDS)).returning(StreamLease.id)).scalar_one())


def admit(db: Database, secret: str | None, *, scope: str | None,
          generates: bool = False) -> Pass:
    """Resolve the caller, check it holds ``scope`` and enforce its plan.

    Raises Unauthorized, Forbidden or RateLimited. ``generates`` marks requests that use the
    engine (chat): only they are held to the token and concurrent-stream limits. A refused
    request is not counted.
    """
    now = datetime.now(UTC)
    with db.locked_session(relaxed=True) as session:
        principal = _resolve(session, secret)
        if scope is not None:
            principal.require(scope)
        if session.get_bind().dialect.name == "postgresql":
            # One org's admissions take turns, so concurrent counts stay exact.
            session.execute(select(Org.id).where(Org.id == principal.org_id).with_for_update())
        _count_request(session, principal, now)
        if not generates:
            return Pass(principal)
        _check_tokens(session, principal, now)
        return Pass(principal, _take_lease(session, principal, now))


def settle(db: Database, admitted: Pass, cost: Cost) -> None:
    """Release the request's stream and record its usage (and tokens against its quota)."""
    principal = admitted.principal
    now = datetime.now(UTC)
    day = int(now.timestamp()) // 86400 * 86400
    tokens = cost.prompt_tokens + cost.completion_tokens
    with db.locked_session(relaxed=True) as session:
        if admitted.lease_id is not None:
            session.execute(delete(StreamLease).where(StreamLease.id == admitted.lease_id))
        for level in LEVELS:
            subject = _subject(principal, level)
            if tokens and subject and limit(principal.limits, "tokens_per_day", level) is not None:
                counters.bump(session, subject, "tokens", day, tokens)
        session.execute(insert(UsageRecord).values(
            at=now, org_id=principal.org_id, user_id=principal.user_id, key_id=principal.key_id,
            model=cost.model, route=cost.route, status=cost.status,
            prompt_tokens=cost.prompt_tokens, completion_tokens=cost.completion_tokens,
            ttft_ms=cost.ttft_ms, duration_ms=cost.duration_ms,
            energy_joules=cost.energy_joules))


def release_expired(session: Session, now: datetime) -> int:
    """Drop leases of streams that outlived ``LEASE_SECONDS`` (their worker died)."""
    return session.execute(delete(StreamLease).where(StreamLease.expires_at <= now)).rowcount or 0
