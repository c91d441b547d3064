"""The gate on a real SQLite file: who a key resolves to, and the plan limits it enforces.

Orgs, users, keys and plans are made with ``hearth.governance.tenancy``, as ``hearth admin``
makes them; tampering that no API allows (an expiry in the past, a stale lease) is done with
SQL on the tables.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from hearth.errors import Forbidden, RateLimited, Unauthorized
from hearth.governance import gate, tenancy, usage
from hearth.governance.gate import Cost
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.governance.roles import SCOPES, Role
from hearth.governance.tenancy import NewKey
from hearth.store.db import Database
from hearth.store.tables import ApiKey, StreamLease, UsageCounter, UsageRecord

OPERATOR = "operator test (cli)"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Pin the gate's clock to the start of the current minute (never in the future), so a
    burst of requests in a test never straddles two rate-limit windows (or two days)."""
    pinned = datetime.now(UTC).replace(second=0, microsecond=0)

    class Pinned(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return pinned

    monkeypatch.setattr(gate, "datetime", Pinned)
    return pinned


def plan_org(db: Database, org: str = "acme", **limits: LevelLimits) -> str:
    """An org on a plan of its own with the given limits (others unlimited)."""
    tenancy.set_plan(db, OPERATOR, f"{org}-plan", priority=1, limits=PlanLimits(**limits))
    tenancy.create_org(db, OPERATOR, org, plan=f"{org}-plan")
    return org


def new_key(db: Database, org: str, user: str, *, role: str = "member",
            scopes: list[str] | None = None) -> NewKey:
    """A key for ``org/user``, creating the user (with ``role``) on first use."""
    if user not in {u.user_id for u in tenancy.list_users(db, org)}:
        tenancy.create_user(db, OPERATOR, org, user, role=role)
    return tenancy.create_key(db, OPERATOR, org, user, scopes=scopes)


def counter(db: Database, subject: str, metric: str = "requests") -> int:
    with db.session() as session:
        return int(session.scalar(select(func.sum(UsageCounter.count)).where(
            UsageCounter.subject == subject, UsageCounter.metric == metric)) or 0)


def cost(**overrides: object) -> Cost:
    fields = {"model": "fake-model", "route": "/v1/chat/completions", "status": 200,
              "duration_ms": 1500.0, "prompt_tokens": 10, "completion_tokens": 5,
              "ttft_ms": 120.0, "energy_joules": 3.5}
    return Cost(**{**fields, **overrides})  # type: ignore[arg-type]


# --- who is calling ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "hth_deadbeef_not-a-real-key", "sk-something"])
def test_an_open_install_admits_anyone_as_the_local_owner(db: Database,
                                                          secret: str | None) -> None:
    principal = gate.admit(db, secret, scope="admin").principal

    assert (principal.org_id, principal.user_id, principal.role) == ("local", "local",
                                                                     Role.OWNER)
    assert principal.scopes == frozenset(SCOPES)
    assert principal.key_id is None
    assert principal.plan == "enterprise"  # the seeded local org's plan


def test_once_a_key_exists_only_its_exact_secret_is_admitted(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    made = new_key(db, "acme", "alice")
    wrong_rest = made.secret[:13] + ("A" if made.secret[13] != "A" else "B") + made.secret[14:]
    assert wrong_rest[:12] == made.secret[:12] and wrong_rest != made.secret

    for refused in (None, "", wrong_rest, "hth_deadbeef_unknown-prefix-key"):
        with pytest.raises(Unauthorized) as err:
            gate.admit(db, refused, scope="chat")
        assert err.value.status == 401 and err.value.code == "invalid_api_key"

    principal = gate.admit(db, made.secret, scope="chat").principal
    assert (principal.org_id, principal.user_id, principal.role) == ("acme", "alice",
                                                                     Role.MEMBER)
    assert principal.key_id == made.key.id
    assert principal.plan == "free"


def test_a_key_gets_its_scopes_only_within_its_users_role(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    member = new_key(db, "acme", "alice", scopes=["chat", "admin"])
    service = new_key(db, "acme", "app", role="service")  # every scope asked for
    admin = new_key(db, "acme", "root", role="admin", scopes=["memory:read", "admin"])

    assert gate.admit(db, member.secret, scope=None).principal.scopes == {"chat"}
    assert gate.admit(db, service.secret, scope=None).principal.scopes == {"chat",
                                                                          "memory:read"}
    assert gate.admit(db, admin.secret, scope=None).principal.scopes == {"memory:read",
                                                                        "admin"}


def test_a_missing_scope_is_forbidden_and_not_counted(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    made = new_key(db, "acme", "alice", scopes=["chat"])

    for scope in ("memory:read", "admin"):
        with pytest.raises(Forbidden) as err:
            gate.admit(db, made.secret, scope=scope)
        assert err.value.status == 403 and err.value.code == "insufficient_scope"
    assert counter(db, f"key:{made.key.id}") == 0
    gate.admit(db, made.secret, scope="chat")
    assert counter(db, f"key:{made.key.id}") == 1


def test_a_revoked_key_is_refused_with_its_own_code(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    made = new_key(db, "acme", "alice")
    gate.admit(db, made.secret, scope="chat")

    tenancy.revoke_key(db, OPERATOR, made.key.id)

    with pytest.raises(Unauthorized) as err:
        gate.admit(db, made.secret, scope="chat")
    assert err.value.code == "revoked_api_key"


def test_an_expired_key_is_refused_with_its_own_code(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    tenancy.create_user(db, OPERATOR, "acme", "alice")
    made = tenancy.create_key(db, OPERATOR, "acme", "alice",
                              expires_at=datetime.now(UTC) + timedelta(hours=1))
    gate.admit(db, made.secret, scope="chat")  # still valid for an hour

    with db.session() as session:
        session.execute(update(ApiKey).where(ApiKey.id == made.key.id)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    with pytest.raises(Unauthorized) as err:
        gate.admit(db, made.secret, scope="chat")
    assert err.value.code == "expired_api_key"


def test_an_expiry_without_an_offset_is_read_as_utc(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    tenancy.create_user(db, OPERATOR, "acme", "alice")
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None)

    made = tenancy.create_key(db, OPERATOR, "acme", "alice", expires_at=in_an_hour)

    assert made.key.expires_at == in_an_hour.replace(tzinfo=UTC)
    assert gate.admit(db, made.secret, scope="chat").principal.key_id == made.key.id


# --- requests per minute ----------------------------------------------------------------


def test_a_keys_requests_per_minute_stop_at_the_limit_and_refusals_are_not_counted(
        db: Database, clock: datetime) -> None:
    plan_org(db, requests_per_minute=LevelLimits(key=3))
    made = new_key(db, "acme", "alice")
    for _ in range(3):
        gate.admit(db, made.secret, scope="chat")

    for _ in range(2):
        with pytest.raises(RateLimited) as err:
            gate.admit(db, made.secret, scope="chat")
        assert err.value.status == 429
        assert 1 <= err.value.retry_after <= 60
        assert err.value.retry_after == 60  # until the next minute window (clock at :00)
    assert counter(db, f"key:{made.key.id}") == 3


def test_a_users_requests_per_minute_hold_across_all_its_keys(db: Database,
                                                              clock: datetime) -> None:
    plan_org(db, requests_per_minute=LevelLimits(user=3))
    first, second = new_key(db, "acme", "alice"), new_key(db, "acme", "alice")
    other_user = new_key(db, "acme", "bob")

    gate.admit(db, first.secret, scope="chat")
    gate.admit(db, first.secret, scope="chat")
    gate.admit(db, second.secret, scope="chat")
    for secret in (first.secret, second.secret):
        with pytest.raises(RateLimited):
            gate.admit(db, secret, scope="chat")

    assert gate.admit(db, other_user.secret, scope="chat").principal.user_id == "bob"
    assert counter(db, "user:acme/alice") == 3
    assert counter(db, "user:acme/bob") == 1


def test_requests_admitted_at_once_from_many_threads_stop_exactly_at_the_limit(
        db: Database, clock: datetime) -> None:
    plan_org(db, requests_per_minute=LevelLimits(org=5))
    secrets = [new_key(db, "acme", f"user{n}").secret for n in range(8)]

    def try_admit(secret: str) -> bool:
        try:
            gate.admit(db, secret, scope="chat")
            return True
        except RateLimited:
            return False

    with ThreadPoolExecutor(len(secrets)) as pool:
        admitted = list(pool.map(try_admit, secrets))

    assert admitted.count(True) == 5
    assert counter(db, "org:acme") == 5


# --- tokens per day ---------------------------------------------------------------------


def test_tokens_spent_past_the_daily_quota_stop_generation_but_not_other_requests(
        db: Database, clock: datetime) -> None:
    plan_org(db, tokens_per_day=LevelLimits(key=100))
    made = new_key(db, "acme", "alice")
    admitted = gate.admit(db, made.secret, scope="chat", generates=True)

    gate.settle(db, admitted, cost(prompt_tokens=70, completion_tokens=40))

    assert counter(db, f"key:{made.key.id}", "tokens") == 110
    with pytest.raises(RateLimited) as err:
        gate.admit(db, made.secret, scope="chat", generates=True)
    assert 1 <= err.value.retry_after <= 86400
    assert gate.admit(db, made.secret, scope="memory:read").principal.key_id == made.key.id


def test_tokens_under_the_daily_quota_still_generate(db: Database, clock: datetime) -> None:
    plan_org(db, tokens_per_day=LevelLimits(user=100))
    made = new_key(db, "acme", "alice")

    gate.settle(db, gate.admit(db, made.secret, scope="chat", generates=True),
                cost(prompt_tokens=60, completion_tokens=39))

    assert gate.admit(db, made.secret, scope="chat", generates=True).principal.user_id == "alice"


# --- concurrent streams -----------------------------------------------------------------


def test_one_stream_at_a_time_until_the_first_is_settled(db: Database,
                                                         clock: datetime) -> None:
    plan_org(db, concurrent_streams=LevelLimits(key=1))
    made = new_key(db, "acme", "alice")

    first = gate.admit(db, made.secret, scope="chat", generates=True)
    assert first.lease_id is not None
    with pytest.raises(RateLimited):
        gate.admit(db, made.secret, scope="chat", generates=True)
    gate.admit(db, made.secret, scope="memory:read")  # not a stream: not held to the limit

    gate.settle(db, first, cost())

    second = gate.admit(db, made.secret, scope="chat", generates=True)
    with db.session() as session:
        assert list(session.scalars(select(StreamLease.id))) == [second.lease_id]


def test_an_expired_lease_no_longer_counts_and_is_released(db: Database,
                                                           clock: datetime) -> None:
    plan_org(db, concurrent_streams=LevelLimits(user=1))
    made = new_key(db, "acme", "alice")
    stale = gate.admit(db, made.secret, scope="chat", generates=True)
    with db.session() as session:  # its worker died; the lease ran out
        session.execute(update(StreamLease).where(StreamLease.id == stale.lease_id)
                        .values(expires_at=clock - timedelta(seconds=1)))

    live = gate.admit(db, made.secret, scope="chat", generates=True)

    with db.locked_session() as session:
        assert gate.release_expired(session, clock) == 1
    with db.session() as session:
        assert list(session.scalars(select(StreamLease.id))) == [live.lease_id]


def test_unlimited_streams_take_no_lease(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme", plan="enterprise")
    made = new_key(db, "acme", "alice")

    assert gate.admit(db, made.secret, scope="chat", generates=True).lease_id is None


# --- usage ------------------------------------------------------------------------------


def test_settle_records_who_used_what(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    made = new_key(db, "acme", "alice")
    admitted = gate.admit(db, made.secret, scope="chat", generates=True)

    gate.settle(db, admitted, cost(prompt_tokens=12, completion_tokens=34, ttft_ms=87.5,
                                   energy_joules=4.25, duration_ms=900.0))

    with db.session() as session:
        record = session.scalars(select(UsageRecord)).one()
    assert (record.org_id, record.user_id, record.key_id) == ("acme", "alice", made.key.id)
    assert (record.prompt_tokens, record.completion_tokens) == (12, 34)
    assert (record.ttft_ms, record.energy_joules, record.duration_ms) == (87.5, 4.25, 900.0)
    assert (record.model, record.route, record.status) == ("fake-model",
                                                           "/v1/chat/completions", 200)


def test_usage_report_sums_by_user_key_model_and_org(db: Database) -> None:
    tenancy.create_org(db, OPERATOR, "acme")
    tenancy.create_org(db, OPERATOR, "beta")
    alice, alice2 = new_key(db, "acme", "alice"), new_key(db, "acme", "alice")
    bob = new_key(db, "beta", "bob")
    for made, spent in ((alice, cost(model="m1", prompt_tokens=10, completion_tokens=1,
                                     ttft_ms=100.0, energy_joules=1.0, duration_ms=1000.0)),
                        (alice2, cost(model="m2", prompt_tokens=20, completion_tokens=2,
                                      ttft_ms=300.0, energy_joules=2.0, duration_ms=500.0)),
                        (bob, cost(model="m1", prompt_tokens=40, completion_tokens=4,
                                   ttft_ms=None)),
                        (bob, cost(model="m1", prompt_tokens=0, completion_tokens=0,
                                   ttft_ms=None))):
        gate.settle(db, gate.admit(db, made.secret, scope="chat"), spent)

    by_user = {row.group: row for row in usage.report(db, group_by="user")}
    assert set(by_user) == {"acme/alice", "beta/bob"}
    alice_row = by_user["acme/alice"]
    assert (alice_row.requests, alice_row.prompt_tokens, alice_row.completion_tokens) == (2, 30,
                                                                                         3)
    assert (alice_row.mean_ttft_ms, alice_row.energy_joules, alice_row.busy_seconds) == (
        200.0, 3.0, 1.5)
    assert (by_user["beta/bob"].requests, by_user["beta/bob"].mean_ttft_ms) == (2, None)

    by_key = {row.group: row.requests for row in usage.report(db, group_by="key")}
    assert by_key == {alice.key.id: 1, alice2.key.id: 1, bob.key.id: 2}
    by_model = {row.group: row.prompt_tokens for row in usage.report(db, group_by="model")}
    assert by_model == {"m1": 50, "m2": 20}
    by_org = {row.group: row.requests for row in usage.report(db, group_by="org")}
    assert by_org == {"acme": 2, "beta": 2}
    assert [row.group for row in usage.report(db, group_by="user", org_id="beta")] == [
        "beta/bob"]


def test_usage_report_counts_only_requests_in_the_time_range(db: Database) -> None:
    local = gate.admit(db, None, scope="chat")  # an open install is metered too
    for model in ("old", "new"):
        gate.settle(db, local, cost(model=model))
    now = datetime.now(UTC)
    with db.session() as session:
        session.execute(update(UsageRecord).where(UsageRecord.model == "old")
                        .values(at=now - timedelta(days=2)))

    def models(**bounds: datetime) -> list[str]:
        return [row.group for row in usage.report(db, group_by="model", **bounds)]

    assert models() == ["new", "old"]
    assert models(start=now - timedelta(days=1)) == ["new"]
    assert models(end=now - timedelta(days=1)) == ["old"]
    assert models(start=now - timedelta(days=3), end=now - timedelta(days=2)) == []  # [start, end)
    assert models(start=now - timedelta(days=3), end=now + timedelta(minutes=1)) == ["new", "old"]
    assert usage.report(db, group_by="key")[0].group == "(no key)"


def test_usage_csv_has_a_header_and_one_line_per_group(db: Database) -> None:
    local = gate.admit(db, None, scope="chat")
    for model in ("m1", "m2", "m2"):
        gate.settle(db, local, cost(model=model, prompt_tokens=7, completion_tokens=3))

    lines = usage.to_csv(usage.report(db, group_by="model")).splitlines()

    assert lines[0] == ("group,requests,prompt_tokens,completion_tokens,energy_joules,"
                        "busy_seconds,mean_ttft_ms")
    assert [line.split(",")[:4] for line in lines[1:]] == [["m1", "1", "7", "3"],
                                                           ["m2", "2", "14", "6"]]
    assert usage.to_csv([]).splitlines() == lines[:1]
