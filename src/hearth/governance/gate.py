"""The door every API request goes through: who is calling, and may they, now?

``admit`` resolves the bearer key to a principal (key → user → org → plan, role and scopes)
and checks the plan's limits in one short transaction: requests per minute, and for
requests that generate, tokens per day and concurrent streams, at the key, user and org
level. ``settle`` releases the stream and records what the request cost. Everything lives
in the database, so limits hold across server workers and a revoked key stops working on
its next request.

This runs twice per request, so it is written as a handful of fixed SQL statements (the
same text on SQLite and PostgreSQL) on a plain connection: building ORM statements would
cost several times more than running them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Connection, bindparam, text
from sqlalchemy.orm import Session

from hearth.errors import RateLimited, Unauthorized
from hearth.governance import counters
from hearth.governance.keys import prefix_of, secret_matches
from hearth.governance.plans import LEVELS, Level, limit
from hearth.governance.principal import LOCAL_ORG, LOCAL_USER, Principal
from hearth.governance.roles import ROLE_SCOPES, SCOPES, Role
from hearth.store.db import Database
from hearth.store.tables import UTCDateTime

LEASE_SECONDS = 600  # a stream held longer than this (or by a dead worker) stops counting

_WHEN = UTCDateTime()
_KEY = text(
    "SELECT k.id, k.salt, k.hash, k.org_id, k.user_id, k.scopes, k.expires_at, k.revoked_at, "
    "u.role, p.name AS plan, p.priority, p.limits FROM api_keys k "
    "JOIN users u ON u.org_id = k.org_id AND u.user_id = k.user_id "
    "JOIN orgs o ON o.id = k.org_id "
    "JOIN plans p ON p.name = COALESCE(u.plan, o.plan) WHERE k.prefix = :prefix"
).columns(scopes=JSON, expires_at=_WHEN, revoked_at=_WHEN, limits=JSON)
_ANY_KEY = text("SELECT 1 FROM api_keys LIMIT 1")
_LOCAL_PLAN = text(
    "SELECT p.name AS plan, p.priority, p.limits FROM plans p JOIN orgs o ON o.plan = p.name "
    f"WHERE o.id = '{LOCAL_ORG}'").columns(limits=JSON)
_LOCK_ORG = text("SELECT id FROM orgs WHERE id = :org FOR UPDATE")
_LIVE_STREAMS = {
    "key": "AND key_id = :key_id",
    "user": "AND user_id = :user_id",
    "org": "",
}
_LIVE_STREAMS_SQL = {
    level: text("SELECT count(*) FROM stream_leases WHERE org_id = :org_id "
                f"AND expires_at > :now {narrower}").bindparams(bindparam("now", type_=_WHEN))
    for level, narrower in _LIVE_STREAMS.items()
}
_TAKE_LEASE = text(
    "INSERT INTO stream_leases (org_id, user_id, key_id, expires_at) "
    "VALUES (:org_id, :user_id, :key_id, :expires) RETURNING id"
).bindparams(bindparam("expires", type_=_WHEN))
_DROP_LEASE = text("DELETE FROM stream_leases WHERE id = :id")
_DROP_EXPIRED = text("DELETE FROM stream_leases WHERE expires_at <= :now").bindparams(
    bindparam("now", type_=_WHEN))
_RECORD_USAGE = text(
    "INSERT INTO usage_records (at, org_id, user_id, key_id, model, route, status, "
    "prompt_tokens, completion_tokens, ttft_ms, duration_ms, energy_joules) VALUES (:at, "
    ":org_id, :user_id, :key_id, :model, :route, :status, :prompt_tokens, "
    ":completion_tokens, :ttft_ms, :duration_ms, :energy_joules)"
).bindparams(bindparam("at", type_=_WHEN))


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


def _resolve(connection: Connection, secret: str | None) -> Principal:
    prefix = prefix_of(secret) if secret else None
    row = None
    if prefix is not None:
        row = connection.execute(_KEY, {"prefix": prefix}).first()
    if row is None:
        if connection.execute(_ANY_KEY).first() is not None:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'."
                               if not secret else "Invalid API key.")
        return _local_principal(connection)
    if not secret_matches(secret or "", row.salt, row.hash):
        raise Unauthorized("Invalid API key.")
    if row.revoked_at is not None:
        raise Unauthorized("This API key was revoked.", code="revoked_api_key")
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        raise Unauthorized("This API key has expired.", code="expired_api_key")
    role = Role(row.role)
    return Principal(org_id=row.org_id, user_id=row.user_id, role=role,
                     scopes=frozenset(row.scopes) & ROLE_SCOPES[role], plan=row.plan,
                     priority=row.priority, limits=row.limits, key_id=row.id)


def _local_principal(connection: Connection) -> Principal:
    """No key exists yet: a single-user install, open on 127.0.0.1, as the local owner."""
    plan = connection.execute(_LOCAL_PLAN).one()
    return Principal(org_id=LOCAL_ORG, user_id=LOCAL_USER, role=Role.OWNER,
                     scopes=frozenset(SCOPES), plan=plan.plan, priority=plan.priority,
                     limits=plan.limits)


def _seconds_to_next(now: datetime, period: int) -> int:
    return max(1, math.ceil(period - now.timestamp() % period))


def _count_request(connection: Connection, principal: Principal, now: datetime) -> None:
    window = int(now.timestamp()) // 60 * 60
    for level in LEVELS:
        allowed = limit(principal.limits, "requests_per_minute", level)
        subject = _subject(principal, level)
        if allowed is None or subject is None:
            continue
        if counters.bump(connection, subject, "requests", window) > allowed:
            raise RateLimited(f"Rate limit reached: {allowed} requests per minute per {level} "
                              f"on the {principal.plan!r} plan.",
                              retry_after=_seconds_to_next(now, 60))


def _check_tokens(connection: Connection, principal: Principal, now: datetime) -> None:
    day = int(now.timestamp()) // 86400 * 86400
    for level in LEVELS:
        allowed = limit(principal.limits, "tokens_per_day", level)
        subject = _subject(principal, level)
        if allowed is not None and subject is not None and \
                counters.read(connection, subject, "tokens", day) >= allowed:
            raise RateLimited(f"Token quota reached: {allowed} tokens per day per {level} "
                              f"on the {principal.plan!r} plan.",
                              retry_after=_seconds_to_next(now, 86400))


def _live_streams(connection: Connection, principal: Principal, level: Level,
                  now: datetime) -> int:
    return int(connection.execute(_LIVE_STREAMS_SQL[level], {
        "org_id": principal.org_id, "user_id": principal.user_id, "key_id": principal.key_id,
        "now": now}).scalar_one())


def _take_lease(connection: Connection, principal: Principal, now: datetime) -> int | None:
    limited = False
    for level in LEVELS:
        allowed = limit(principal.limits, "concurrent_streams", level)
        if allowed is None or _subject(principal, level) is None:
            continue
        limited = True
        if _live_streams(connection, principal, level, now) >= allowed:
            raise RateLimited(f"Too many concurrent requests: {allowed} per {level} on the "
                              f"{principal.plan!r} plan; retry when one finishes.")
    if not limited:
        return None
    return int(connection.execute(_TAKE_LEASE, {
        "org_id": principal.org_id, "user_id": principal.user_id, "key_id": principal.key_id,
        "expires": now + timedelta(seconds=LEASE_SECONDS)}).scalar_one())


def admit(db: Database, secret: str | None, *, scope: str | None,
          generates: bool = False) -> Pass:
    """Resolve the caller, check it holds ``scope`` and enforce its plan.

    Raises Unauthorized, Forbidden or RateLimited. ``generates`` marks requests that use the
    engine (chat): only they are held to the token and concurrent-stream limits. A refused
    request is not counted.
    """
    now = datetime.now(UTC)
    with db.locked_connection(relaxed=True) as connection:
        principal = _resolve(connection, secret)
        if scope is not None:
            principal.require(scope)
        if connection.dialect.name == "postgresql":
            # One org's admissions take turns, so concurrent counts stay exact.
            connection.execute(_LOCK_ORG, {"org": principal.org_id})
        _count_request(connection, principal, now)
        if not generates:
            return Pass(principal)
        _check_tokens(connection, principal, now)
        return Pass(principal, _take_lease(connection, principal, now))


def settle(db: Database, admitted: Pass, cost: Cost) -> None:
    """Release the request's stream and record its usage (and tokens against its quota)."""
    principal = admitted.principal
    now = datetime.now(UTC)
    day = int(now.timestamp()) // 86400 * 86400
    tokens = cost.prompt_tokens + cost.completion_tokens
    with db.locked_connection(relaxed=True) as connection:
        if admitted.lease_id is not None:
            connection.execute(_DROP_LEASE, {"id": admitted.lease_id})
        for level in LEVELS:
            subject = _subject(principal, level)
            if tokens and subject and limit(principal.limits, "tokens_per_day", level) is not None:
                counters.bump(connection, subject, "tokens", day, tokens)
        connection.execute(_RECORD_USAGE, {
            "at": now, "org_id": principal.org_id, "user_id": principal.user_id,
            "key_id": principal.key_id, "model": cost.model, "route": cost.route,
            "status": cost.status, "prompt_tokens": cost.prompt_tokens,
            "completion_tokens": cost.completion_tokens, "ttft_ms": cost.ttft_ms,
            "duration_ms": cost.duration_ms, "energy_joules": cost.energy_joules})


def release_expired(connection: Connection | Session, now: datetime) -> int:
    """Drop leases of streams that outlived ``LEASE_SECONDS`` (their worker died)."""
    return connection.execute(_DROP_EXPIRED, {"now": now}).rowcount or 0
