"""The door every API request goes through: who is calling, and may they, now?

``admit`` resolves the bearer key to a principal (key → user → org → plan, role and scopes)
and checks the plan's limits in one short transaction: requests per minute, and for
requests that generate, tokens per day and concurrent streams, at the key, user and org
level. ``settle`` releases the stream and records what the request cost. Everything lives
in the database, so limits hold across server workers and a revoked key stops working on
its next request.

This runs twice per request, so it is written as a handful of fixed SQL statements (the
same text on SQLite and PostgreSQL) run on the driver's cursor (``DriverSQL``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

from hearth.errors import RateLimited, Unauthorized
from hearth.governance import counters, sessions
from hearth.governance.driver_sql import DriverSQL
from hearth.governance.keys import prefix_of, secret_matches
from hearth.governance.plans import LEVELS, Level, limit
from hearth.governance.principal import LOCAL_ORG, LOCAL_USER, Principal
from hearth.governance.roles import ROLE_SCOPES, SCOPES, Role
from hearth.store.db import Database
from hearth.store.tables import UTCDateTime

LEASE_SECONDS = 600  # a stream held longer than this (or by a dead worker) stops counting

_KEY = (
    "SELECT k.id, k.salt, k.hash, k.org_id, k.user_id, CAST(k.scopes AS TEXT), k.expires_at, "
    "k.revoked_at, u.role, p.name, p.priority, CAST(p.limits AS TEXT) FROM api_keys k "
    "JOIN users u ON u.org_id = k.org_id AND u.user_id = k.user_id "
    "JOIN orgs o ON o.id = k.org_id "
    "JOIN plans p ON p.name = COALESCE(u.plan, o.plan) WHERE k.prefix = :prefix")
_ANY_KEY = "SELECT 1 FROM api_keys LIMIT 1"
_LOCAL_PLAN = ("SELECT p.name, p.priority, p.limits FROM plans p "
               f"JOIN orgs o ON o.plan = p.name WHERE o.id = '{LOCAL_ORG}'")
_LOCK_ORG = "SELECT id FROM orgs WHERE id = :org FOR UPDATE"
_LIVE_STREAMS = (
    "SELECT SUM(CASE WHEN key_id = :key_id THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN user_id = :user_id THEN 1 ELSE 0 END), COUNT(*) FROM stream_leases "
    "WHERE org_id = :org_id AND expires_at > :now")
_TAKE_LEASE = ("INSERT INTO stream_leases (org_id, user_id, key_id, expires_at) "
               "VALUES (:org_id, :user_id, :key_id, :expires) RETURNING id")
_DROP_LEASE = "DELETE FROM stream_leases WHERE id = :id"
_RECORD_USAGE = (
    "INSERT INTO usage_records (at, org_id, user_id, key_id, model, route, status, "
    "prompt_tokens, completion_tokens, ttft_ms, duration_ms, energy_joules) VALUES (:at, "
    ":org_id, :user_id, :key_id, :model, :route, :status, :prompt_tokens, "
    ":completion_tokens, :ttft_ms, :duration_ms, :energy_joules)")
_DROP_EXPIRED = text("DELETE FROM stream_leases WHERE expires_at <= :now").bindparams(
    bindparam("now", type_=UTCDateTime()))


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


@dataclass(frozen=True)
class _Level:
    """A level a caller is held to: its counters' subject and its plan's limits there."""

    name: Level
    subject: str
    requests_per_minute: int | None
    tokens_per_day: int | None
    concurrent_streams: int | None


def _levels(principal: Principal) -> tuple[_Level, ...]:
    return tuple(
        _Level(level, subject, limit(principal.limits, "requests_per_minute", level),
               limit(principal.limits, "tokens_per_day", level),
               limit(principal.limits, "concurrent_streams", level))
        for level in LEVELS if (subject := _subject(principal, level)))


@dataclass(frozen=True)
class Pass:
    """An admitted request: who it is, and the stream lease it holds (if it generates).
    ``levels`` are its plan's limits as admission read them, for settling its tokens."""

    principal: Principal
    levels: tuple[_Level, ...]
    lease_id: int | None = None


@dataclass(frozen=True)
class _Caller:
    principal: Principal
    levels: tuple[_Level, ...]


@lru_cache(maxsize=1024)
def _key_caller(secret: str, salt: str, stored_hash: str, key_id: str, org_id: str,
                user_id: str, scopes: str, role: str, plan: str, priority: int,
                limits: str) -> _Caller | None:
    """The caller a key's row makes, or None when ``secret`` is not that key's.

    The row is read on every request and is part of the cache key, so a changed role,
    scope or plan is a new entry; this only spares hashing the secret and parsing JSON on
    each request. Revocation and expiry are checked by the caller, every time.
    """
    if not secret_matches(secret, salt, stored_hash):
        return None
    role_ = Role(role)
    principal = Principal(org_id=org_id, user_id=user_id, role=role_,
                          scopes=frozenset(json.loads(scopes)) & ROLE_SCOPES[role_], plan=plan,
                          priority=priority, limits=json.loads(limits), key_id=key_id)
    return _Caller(principal, _levels(principal))


def _resolve(sql: DriverSQL, secret: str | None) -> _Caller:
    if secret is not None and sessions.is_session(secret):
        principal = sessions.resolve_in(sql, secret)
        return _Caller(principal, _levels(principal))
    prefix = prefix_of(secret) if secret else None
    row = sql.one(_KEY, {"prefix": prefix}) if prefix is not None else None
    if row is None:
        if sql.one(_ANY_KEY) is not None:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'."
                               if not secret else "Invalid API key.")
        principal = _local_principal(sql)
        return _Caller(principal, _levels(principal))
    (key_id, salt, stored_hash, org_id, user_id, scopes, expires_at, revoked_at, role,
     plan, priority, limits) = row
    caller = _key_caller(secret or "", salt, stored_hash, key_id, org_id, user_id, scopes,
                         role, plan, priority, limits)
    if caller is None:
        raise Unauthorized("Invalid API key.")
    if revoked_at is not None:
        raise Unauthorized("This API key was revoked.", code="revoked_api_key")
    expires_at = sql.read_when(expires_at)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Unauthorized("This API key has expired.", code="expired_api_key")
    return caller


def _local_principal(sql: DriverSQL) -> Principal:
    """No key exists yet: a single-user install, open on 127.0.0.1, as the local owner."""
    plan, priority, limits = sql.one(_LOCAL_PLAN)  # type: ignore[misc]
    return Principal(org_id=LOCAL_ORG, user_id=LOCAL_USER, role=Role.OWNER,
                     scopes=frozenset(SCOPES), plan=plan, priority=priority,
                     limits=sql.read_json(limits))


def _seconds_to_next(now: datetime, period: int) -> int:
    return max(1, math.ceil(period - now.timestamp() % period))


@dataclass(frozen=True)
class _Moment:
    """When a request is checked, and the counter windows that moment falls in."""

    at: datetime
    minute: int
    day: int

    @classmethod
    def now(cls) -> _Moment:
        at = datetime.now(UTC)
        seconds = int(at.timestamp())
        return cls(at, seconds // 60 * 60, seconds // 86400 * 86400)


def _live_streams(sql: DriverSQL, principal: Principal, now: _Moment) -> dict[Level, int]:
    row = sql.one(_LIVE_STREAMS, {"org_id": principal.org_id, "user_id": principal.user_id,
                                  "key_id": principal.key_id, "now": sql.when(now.at)})
    return dict(zip(LEVELS, (int(n or 0) for n in row or (0, 0, 0)), strict=True))


def _check(caller: _Caller, counts: dict[counters.Key, int], streams: dict[Level, int] | None,
           now: _Moment) -> bool:
    """Refuse what is over a limit; returns whether a concurrent-streams limit applies.
    ``streams`` is None for a request that does not generate: only its rate is limited."""
    plan = caller.principal.plan
    streams_limited = False
    for level in caller.levels:
        allowed = level.requests_per_minute
        if allowed is not None and \
                counts.get((level.subject, "requests", now.minute), 0) >= allowed:
            raise RateLimited(f"Rate limit reached: {allowed} requests per minute per "
                              f"{level.name} on the {plan!r} plan.",
                              retry_after=_seconds_to_next(now.at, 60))
        if streams is None:
            continue
        allowed = level.tokens_per_day
        if allowed is not None and counts.get((level.subject, "tokens", now.day), 0) >= allowed:
            raise RateLimited(f"Token quota reached: {allowed} tokens per day per {level.name} "
                              f"on the {plan!r} plan.",
                              retry_after=_seconds_to_next(now.at, 86400))
        allowed = level.concurrent_streams
        if allowed is not None:
            streams_limited = True
            if streams[level.name] >= allowed:
                raise RateLimited(f"Too many concurrent requests: {allowed} per {level.name} "
                                  f"on the {plan!r} plan; retry when one finishes.")
    return streams_limited


def _take_lease(sql: DriverSQL, principal: Principal, now: _Moment) -> int:
    row = sql.one(_TAKE_LEASE, {
        "org_id": principal.org_id, "user_id": principal.user_id, "key_id": principal.key_id,
        "expires": sql.when(now.at + timedelta(seconds=LEASE_SECONDS))})
    return int(row[0])  # type: ignore[index]


def admit_in(sql: DriverSQL, secret: str | None, *, scope: str | None,
             generates: bool = False) -> Pass:
    """``admit`` inside a transaction that holds the write lock.

    Every check runs before anything is written, so a refused request leaves no trace and
    several admissions can share one transaction (see ``GateWriter``).
    """
    now = _Moment.now()
    caller = _resolve(sql, secret)
    principal = caller.principal
    if scope is not None:
        principal.require(scope)
    if not sql.sqlite:
        # One org's admissions take turns, so concurrent counts stay exact.
        sql.execute(_LOCK_ORG, {"org": principal.org_id})
    counts = counters.read(sql, [level.subject for level in caller.levels],
                           [now.minute, now.day])
    streams = _live_streams(sql, principal, now) if generates else None
    streams_limited = _check(caller, counts, streams, now)
    counters.bump(sql, {(level.subject, "requests", now.minute): 1 for level in caller.levels
                        if level.requests_per_minute is not None})
    return Pass(principal, caller.levels,
                _take_lease(sql, principal, now) if streams_limited else None)


def settle_in(sql: DriverSQL, admitted: Pass, cost: Cost) -> None:
    """``settle`` inside a transaction that holds the write lock."""
    principal = admitted.principal
    now = _Moment.now()
    tokens = cost.prompt_tokens + cost.completion_tokens
    if admitted.lease_id is not None:
        sql.execute(_DROP_LEASE, {"id": admitted.lease_id})
    if tokens:
        counters.bump(sql, {(level.subject, "tokens", now.day): tokens
                            for level in admitted.levels if level.tokens_per_day is not None})
    sql.execute(_RECORD_USAGE, {
        "at": sql.when(now.at), "org_id": principal.org_id, "user_id": principal.user_id,
        "key_id": principal.key_id, "model": cost.model, "route": cost.route,
        "status": cost.status, "prompt_tokens": cost.prompt_tokens,
        "completion_tokens": cost.completion_tokens, "ttft_ms": cost.ttft_ms,
        "duration_ms": cost.duration_ms, "energy_joules": cost.energy_joules})


def release_in(sql: DriverSQL, admitted: Pass) -> None:
    """Give back the stream lease of a request admitted but never run (nothing to record)."""
    if admitted.lease_id is not None:
        sql.execute(_DROP_LEASE, {"id": admitted.lease_id})


def admit(db: Database, secret: str | None, *, scope: str | None,
          generates: bool = False) -> Pass:
    """Resolve the caller, check it holds ``scope`` and enforce its plan.

    Raises Unauthorized, Forbidden or RateLimited. ``generates`` marks requests that use the
    engine (chat): only they are held to the token and concurrent-stream limits. A refused
    request is not counted.
    """
    with db.locked_connection(relaxed=True) as connection:
        return admit_in(DriverSQL.of(connection), secret, scope=scope, generates=generates)


def settle(db: Database, admitted: Pass, cost: Cost) -> None:
    """Release the request's stream and record its usage (and tokens against its quota)."""
    with db.locked_connection(relaxed=True) as connection:
        settle_in(DriverSQL.of(connection), admitted, cost)


def release_expired(connection: Connection | Session, now: datetime) -> int:
    """Drop leases of streams that outlived ``LEASE_SECONDS`` (their worker died)."""
    return connection.execute(_DROP_EXPIRED, {"now": now}).rowcount or 0
