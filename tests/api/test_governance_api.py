"""Keys, scopes, tenants and plans, tried against a live `hearth serve` on every route.

Two orgs share one server. Every route is called with no key, a wrong key, a revoked key and
an expired key (401), with a key lacking the route's scope (403), and as a caller from the
other org (404, or an empty list): none of those ever sees the other org's data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from hearth.governance import tenancy
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.store.db import Database
from hearth.store.tables import ApiKey, UsageRecord
from live_server import FAKE_ENV, LiveServer, start_server

MODEL = FAKE_ENV["HEARTH_MODEL"]
OPERATOR = "test operator"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
RESPONSE = {"model": MODEL, "input": "hello"}


@dataclass
class World:
    server: LiveServer
    db: Database
    keys: dict[str, str]  # name -> secret
    key_ids: dict[str, str]
    conversation: str  # bob's (acme)
    memory: int  # bob's (acme)
    response: str  # bob's (acme), stored

    def call(self, method: str, path: str, key: str | None = None, *,
             json: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        return httpx.request(method, f"{self.server.root}{path}", json=json, headers=sent,
                             timeout=15)


def _make_key(db: Database, keys: dict, ids: dict, name: str, org: str, user: str,
              scopes: list[str] | None = None, expires_at: datetime | None = None) -> None:
    made = tenancy.create_key(db, OPERATOR, org, user, scopes=scopes, expires_at=expires_at)
    keys[name], ids[name] = made.secret, made.key.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          module_database_url: str) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("governed")
    db = Database(module_database_url)
    db.migrate()
    tenancy.set_plan(db, OPERATOR, "tight", priority=0, limits=PlanLimits(
        requests_per_minute=LevelLimits(key=2)))
    for org in ("acme", "globex"):
        tenancy.create_org(db, OPERATOR, org, plan="pro")
    for org, user, role, plan in (("local", "root", "owner", None),
                                  ("acme", "alice", "admin", None),
                                  ("acme", "bob", "member", None),
                                  ("acme", "erin", "member", "tight"),
                                  ("globex", "carol", "member", None),
                                  ("globex", "dave", "admin", None)):
        tenancy.create_user(db, OPERATOR, org, user, role=role, plan=plan)
    keys: dict[str, str] = {}
    ids: dict[str, str] = {}
    for name, org, user, scopes in (("operator", "local", "root", None),
                                    ("alice", "acme", "alice", None),
                                    ("bob", "acme", "bob", None),
                                    ("bob_chat", "acme", "bob", ["chat"]),
                                    ("bob_reader", "acme", "bob", ["memory:read"]),
                                    ("bob_admin_asked", "acme", "bob", ["admin"]),
                                    ("bob_revoked", "acme", "bob", None),
                                    ("bob_expired", "acme", "bob", None),
                                    ("erin", "acme", "erin", None),
                                    ("carol", "globex", "carol", None),
                                    ("dave", "globex", "dave", None)):
        soon = datetime.now(UTC) + timedelta(hours=1) if name == "bob_expired" else None
        _make_key(db, keys, ids, name, org, user, scopes, soon)
    tenancy.revoke_key(db, OPERATOR, ids["bob_revoked"])
    with db.session() as session:
        session.execute(update(ApiKey).where(ApiKey.id == ids["bob_expired"])
                        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    server = start_server(home, env={**FAKE_ENV, "HEARTH_DATABASE_URL": module_database_url})
    world = World(server, db, keys, ids, conversation="conv-bob-1", memory=0, response="")
    chat = world.call("POST", "/v1/chat/completions", "bob",
                      json={**CHAT, "metadata": {"conversation": world.conversation}})
    assert chat.status_code == 200, chat.text
    made = world.call("POST", "/v1/memories", "bob",
                      json={"text": "Bob's secret plan is to sail to Lisbon.", "kind": "plan"})
    assert made.status_code == 201, made.text
    world.memory = made.json()["id"]
    answered = world.call("POST", "/v1/responses", "bob",
                          json={**RESPONSE, "input": "Bob sails to Lisbon."})
    assert answered.status_code == 200, answered.text
    world.response = answered.json()["id"]
    yield world
    server.stop()
    db.dispose()


def routes(world: World) -> list[tuple[str, str, object, str | None]]:
    """(method, path, body, scope needed) for every route but /healthz."""
    memory, conversation = world.memory, world.conversation
    new_memory = {"text": "x", "kind": "fact"}
    return [
        ("GET", "/v1/models", None, None),
        ("GET", f"/v1/models/{MODEL}", None, None),
        ("DELETE", "/v1/models/ft:fake:acme:x:000", None, "admin"),
        ("POST", "/v1/chat/completions", CHAT, "chat"),
        ("POST", "/v1/embeddings", {"model": MODEL, "input": "hi"}, "chat"),
        ("GET", "/v1/conversations", None, "chat"),
        ("GET", f"/v1/conversations/{conversation}", None, "chat"),
        ("DELETE", f"/v1/conversations/{conversation}/messages?keep=9", None, "chat"),
        ("POST", "/v1/responses", RESPONSE, "chat"),
        ("GET", f"/v1/responses/{world.response}", None, "chat"),
        ("GET", f"/v1/responses/{world.response}/input_items", None, "chat"),
        ("DELETE", f"/v1/responses/{world.response}", None, "chat"),
        ("GET", "/v1/memories", None, "memory:read"),
        ("GET", "/v1/memories/search?q=Lisbon", None, "memory:read"),
        ("GET", "/v1/memories/export", None, "memory:read"),
        ("GET", f"/v1/memories/{memory}", None, "memory:read"),
        ("GET", f"/v1/memories/{memory}/sources", None, "memory:read"),
        ("POST", "/v1/memories", new_memory, "memory:write"),
        ("POST", "/v1/memories/import", {"memories": []}, "memory:write"),
        ("PATCH", f"/v1/memories/{memory}", {"pinned": True}, "memory:write"),
        ("POST", f"/v1/memories/{memory}/pin", None, "memory:write"),
        ("POST", f"/v1/memories/{memory}/unpin", None, "memory:write"),
        ("DELETE", f"/v1/memories/{memory}", None, "memory:write"),
        ("DELETE", "/v1/memories", None, "memory:write"),
        ("GET", "/metrics", None, "admin"),
        ("GET", "/admin/v1/orgs", None, "admin"),
        ("POST", "/admin/v1/orgs", {"id": "initech"}, "admin"),
        ("GET", "/admin/v1/orgs/acme", None, "admin"),
        ("PATCH", "/admin/v1/orgs/acme", {"memory_retention_days": 30}, "admin"),
        ("GET", "/admin/v1/orgs/acme/users", None, "admin"),
        ("POST", "/admin/v1/orgs/acme/users", {"user_id": "mallory"}, "admin"),
        ("PATCH", "/admin/v1/orgs/acme/users/bob", {"role": "admin"}, "admin"),
        ("PUT", "/admin/v1/orgs/acme/users/bob/password", {"password": "long enough"}, "admin"),
        ("DELETE", "/admin/v1/orgs/acme/users/bob/password", None, "admin"),
        ("GET", "/admin/v1/orgs/acme/keys", None, "admin"),
        ("POST", "/admin/v1/orgs/acme/keys", {"user_id": "bob"}, "admin"),
        ("DELETE", f"/admin/v1/keys/{world.key_ids['bob']}", None, "admin"),
        ("GET", "/admin/v1/plans", None, "admin"),
        ("PUT", "/admin/v1/plans/cheap", {"priority": 0}, "admin"),
        ("GET", "/admin/v1/usage", None, "admin"),
        ("GET", "/admin/v1/audit", None, "admin"),
        ("GET", "/admin/v1/audit/verify", None, "admin"),
        ("POST", "/admin/v1/purge", None, "admin"),
    ]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if code is not None:
        assert error["code"] == code
    assert "Lisbon" not in response.text


@pytest.mark.parametrize(("key", "code"), [
    (None, "invalid_api_key"),
    ("hth_00000000_not-a-real-key-at-all", "invalid_api_key"),
    ("bob_revoked", "revoked_api_key"),
    ("bob_expired", "expired_api_key"),
])
def test_every_route_refuses_a_missing_wrong_revoked_or_expired_key(
        world: World, key: str | None, code: str) -> None:
    for method, path, body, _ in routes(world):
        assert_error(world.call(method, path, key, json=body), 401, code)


def test_healthz_needs_no_key(world: World) -> None:
    assert world.call("GET", "/healthz").status_code == 200


def test_a_key_without_the_routes_scope_is_refused(world: World) -> None:
    lacking = {"chat": "bob_reader", "memory:read": "bob_chat", "memory:write": "bob_reader",
               "admin": "bob"}
    for method, path, body, scope in routes(world):
        if scope is not None:
            assert_error(world.call(method, path, lacking[scope], json=body), 403)


def test_a_member_does_not_get_admin_even_when_the_key_asks_for_it(world: World) -> None:
    assert_error(world.call("GET", "/admin/v1/orgs", "bob_admin_asked"), 403,
                 "insufficient_scope")


def test_another_orgs_conversations_memories_and_responses_are_not_found(world: World) -> None:
    memory = world.memory
    for method, path, body in (
        ("GET", f"/v1/conversations/{world.conversation}", None),
        ("DELETE", f"/v1/conversations/{world.conversation}/messages?keep=0", None),
        ("GET", f"/v1/responses/{world.response}", None),
        ("GET", f"/v1/responses/{world.response}/input_items", None),
        ("DELETE", f"/v1/responses/{world.response}", None),
        ("POST", "/v1/responses", {**RESPONSE, "previous_response_id": world.response}),
        ("GET", f"/v1/memories/{memory}", None),
        ("GET", f"/v1/memories/{memory}/sources", None),
        ("PATCH", f"/v1/memories/{memory}", {"text": "Carol was here."}),
        ("POST", f"/v1/memories/{memory}/pin", None),
        ("DELETE", f"/v1/memories/{memory}", None),
    ):
        assert_error(world.call(method, path, "carol", json=body), 404)
    for path in ("/v1/conversations", "/v1/memories", "/v1/memories/search?q=Lisbon+sail",
                 "/v1/memories/export"):
        response = world.call("GET", path, "carol")
        assert response.status_code == 200 and "Lisbon" not in response.text
        assert world.conversation not in response.text
    # ...and naming acme's user from globex reaches globex's (empty) user of that name.
    named = world.call("GET", "/v1/memories", "dave", headers={"X-Hearth-User": "bob"})
    assert named.status_code == 200 and named.json()["data"] == []
    # Bob still has everything.
    assert "Lisbon" in world.call("GET", f"/v1/memories/{memory}", "bob").text
    assert "Lisbon" in world.call("GET", f"/v1/responses/{world.response}", "bob").text


def test_a_conversation_id_used_in_another_org_is_a_new_conversation_of_the_caller(
        world: World) -> None:
    # No answer tells whether the id is taken elsewhere, and no one can take ids from others.
    chat = world.call("POST", "/v1/chat/completions", "dave",
                      json={**CHAT, "messages": [{"role": "user", "content": "from globex"}],
                            "metadata": {"conversation": world.conversation}})
    assert chat.status_code == 200, chat.text

    def said(key: str) -> list[str]:
        response = world.call("GET", f"/v1/conversations/{world.conversation}", key)
        assert response.status_code == 200, response.text
        return [m["content"] for m in response.json()["messages"] if m["role"] == "user"]

    assert said("dave") == ["from globex"]
    assert said("bob") == ["hello"]


def test_another_orgs_admin_reaches_nothing_of_acme(world: World) -> None:
    for method, path, body in (
        ("GET", "/admin/v1/orgs/acme", None),
        ("PATCH", "/admin/v1/orgs/acme", {"memory_retention_days": 1}),
        ("GET", "/admin/v1/orgs/acme/users", None),
        ("POST", "/admin/v1/orgs/acme/users", {"user_id": "spy"}),
        ("PATCH", "/admin/v1/orgs/acme/users/bob", {"role": "admin"}),
        ("GET", "/admin/v1/orgs/acme/keys", None),
        ("POST", "/admin/v1/orgs/acme/keys", {"user_id": "bob"}),
        ("DELETE", f"/admin/v1/keys/{world.key_ids['bob']}", None),
        ("GET", "/admin/v1/usage?org=acme", None),
    ):
        assert_error(world.call(method, path, "dave", json=body), 404)
    assert [o["id"] for o in world.call("GET", "/admin/v1/orgs", "dave").json()] == ["globex"]
    usage = world.call("GET", "/admin/v1/usage?group_by=user", "dave").json()["data"]
    assert all(row["group"].startswith("globex/") for row in usage)
    audit = world.call("GET", "/admin/v1/audit", "dave").json()
    assert audit and all(entry["org_id"] == "globex" for entry in audit)
    # Only the operator's admins create orgs or change plans.
    assert_error(world.call("POST", "/admin/v1/orgs", "alice", json={"id": "evil"}), 403)
    assert_error(world.call("PATCH", "/admin/v1/orgs/acme", "alice", json={"plan": "enterprise"}),
                 403)
    assert world.call("GET", "/v1/models", "bob").status_code == 200  # bob's key survived


def test_a_member_acts_only_for_itself_but_an_admin_for_its_orgs_users(world: World) -> None:
    assert_error(world.call("GET", "/v1/memories", "bob", headers={"X-Hearth-User": "alice"}),
                 403, "user_not_allowed")
    as_bob = world.call("GET", "/v1/memories/search?q=Lisbon", "alice",
                        headers={"X-Hearth-User": "bob"})
    assert as_bob.status_code == 200 and "Lisbon" in as_bob.text


def test_a_key_made_and_revoked_over_the_api_works_then_stops(world: World) -> None:
    made = world.call("POST", "/admin/v1/orgs/acme/keys", "alice",
                      json={"user_id": "bob", "scopes": ["chat"], "name": "laptop"})
    assert made.status_code == 201, made.text
    secret, key_id = made.json()["secret"], made.json()["id"]
    assert secret.startswith("hth_")
    listed = world.call("GET", "/admin/v1/orgs/acme/keys", "alice").text
    assert key_id in listed and secret not in listed
    assert world.call("POST", "/v1/chat/completions", secret, json=CHAT).status_code == 200

    assert world.call("DELETE", f"/admin/v1/keys/{key_id}", "alice").status_code == 200

    assert_error(world.call("POST", "/v1/chat/completions", secret, json=CHAT), 401,
                 "revoked_api_key")


def test_an_admin_sets_and_clears_a_users_password_never_shown_again(world: World) -> None:
    path = "/admin/v1/orgs/acme/users/erin/password"
    assert_error(world.call("PUT", path, "alice", json={"password": "short"}), 400)
    assert_error(world.call("PUT", path, "bob", json={"password": "long enough"}), 403)
    assert_error(world.call("PUT", "/admin/v1/orgs/globex/users/carol/password", "alice",
                            json={"password": "long enough"}), 404)
    made = world.call("PUT", path, "alice", json={"password": "long enough"})
    assert made.status_code == 200 and made.json()["has_password"] is True, made.text
    listed = world.call("GET", "/admin/v1/orgs/acme/users", "alice")
    assert {u["user_id"]: u["has_password"] for u in listed.json()}["erin"] is True
    assert "scrypt" not in listed.text
    cleared = world.call("DELETE", path, "alice")
    assert cleared.status_code == 200 and cleared.json()["has_password"] is False


def test_over_the_plans_rate_limit_is_a_429_and_others_keep_being_served(world: World) -> None:
    replies = [world.call("GET", "/v1/models", "erin") for _ in range(3)]
    assert [r.status_code for r in replies[:2]] == [200, 200]
    assert_error(replies[2], 429, "rate_limit_exceeded")
    assert replies[2].json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(replies[2].headers["retry-after"]) <= 60
    assert world.call("POST", "/v1/chat/completions", "bob", json=CHAT).status_code == 200


def test_responses_are_held_to_the_plan_and_metered_like_chat(world: World) -> None:
    tenancy.set_plan(world.db, OPERATOR, "one-a-minute", priority=0, limits=PlanLimits(
        requests_per_minute=LevelLimits(key=1)))
    tenancy.create_user(world.db, OPERATOR, "acme", "ria", plan="one-a-minute")
    ria = tenancy.create_key(world.db, OPERATOR, "acme", "ria").secret

    first = world.call("POST", "/v1/responses", ria, json=RESPONSE)
    second = world.call("POST", "/v1/responses", ria, json=RESPONSE)

    assert first.status_code == 200, first.text
    assert_error(second, 429, "rate_limit_exceeded")
    with world.db.session() as session:
        usage = session.execute(select(UsageRecord.route, UsageRecord.status,
                                       UsageRecord.prompt_tokens)
                                .where(UsageRecord.user_id == "ria")).all()
    assert usage == [("responses", 200, first.json()["usage"]["input_tokens"])]


def test_usage_is_reported_by_user_key_and_model_and_as_csv(world: World) -> None:
    for _ in range(2):
        assert world.call("POST", "/v1/chat/completions", "bob_chat", json=CHAT).status_code == 200
    by_user = world.call("GET", "/admin/v1/usage?group_by=user", "alice").json()["data"]
    bob = next(row for row in by_user if row["group"] == "acme/bob")
    assert bob["requests"] >= 3 and bob["prompt_tokens"] > 0 and bob["completion_tokens"] > 0
    assert bob["energy_joules"] > 0 and bob["mean_ttft_ms"] is not None
    by_key = world.call("GET", "/admin/v1/usage?group_by=key", "alice").json()["data"]
    assert next(r for r in by_key if r["group"] == world.key_ids["bob_chat"])["requests"] >= 2
    by_model = world.call("GET", "/admin/v1/usage?group_by=model", "alice").json()["data"]
    assert [r["group"] for r in by_model] == [MODEL]
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert world.call("GET", f"/admin/v1/usage?from={future}", "alice").json()["data"] == []
    csv = world.call("GET", "/admin/v1/usage?format=csv", "alice")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("group,requests,prompt_tokens")
    assert "acme/bob" in csv.text
    actions = [e["action"] for e in world.call("GET", "/admin/v1/audit", "alice").json()]
    assert "usage.read" in actions


def test_the_operator_sees_every_org_and_the_audit_chain_verifies(world: World) -> None:
    orgs = {o["id"] for o in world.call("GET", "/admin/v1/orgs", "operator").json()}
    assert {"local", "acme", "globex"} <= orgs
    verified = world.call("GET", "/admin/v1/audit/verify", "operator").json()
    assert verified["ok"] and verified["length"] > 10 and verified["problems"] == []
    assert_error(world.call("GET", "/admin/v1/audit/verify", "alice"), 403)


def test_an_open_install_says_so_and_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    server = start_server(tmp_path / "open", env=FAKE_ENV)
    try:
        assert httpx.get(f"{server.base_url}/models", timeout=5).status_code == 200
    finally:
        server.stop()
    assert "open: no API keys exist yet" in server.process.stdout.read()
    refused = subprocess.run(
        [sys.executable, "-m", "hearth", "serve", "--host", "0.0.0.0", "--port", "1"],
        env={**os.environ, "HEARTH_HOME": str(tmp_path / "open"), **FAKE_ENV},
        capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "No API key exists" in refused.stderr


def test_a_chat_refused_for_its_body_gives_its_stream_back(world: World) -> None:
    """With one concurrent stream allowed, chats whose body fails validation (after the key
    was admitted) must not hold the stream afterwards."""
    tenancy.set_plan(world.db, OPERATOR, "one-stream", priority=0, limits=PlanLimits(
        concurrent_streams=LevelLimits(key=1)))
    tenancy.create_user(world.db, OPERATOR, "acme", "uma", plan="one-stream")
    uma = tenancy.create_key(world.db, OPERATOR, "acme", "uma").secret

    for _ in range(3):
        bad = world.call("POST", "/v1/chat/completions", uma, json={"model": MODEL})
        assert_error(bad, 400)
    reply = world.call("POST", "/v1/chat/completions", uma, json=CHAT)
    assert reply.status_code == 200, reply.text
