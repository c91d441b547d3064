"""Several server workers share one database: limits hold, and a killed worker loses nothing.

`hearth serve --workers 2` runs two processes behind one port. Quota counters, usage and
the audit log live in the database, so a key's limit is the same whichever worker answers,
and a worker killed with SIGKILL mid-load leaves every acknowledged answer, usage record and
audit entry in place.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from hearth.governance import audit, tenancy
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.store import conversations
from hearth.store.db import Database
from hearth.store.tables import UsageRecord
from live_server import FAKE_ENV, LiveServer, start_server

MODEL = FAKE_ENV["HEARTH_MODEL"]
OPERATOR = "test operator"


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (the uvicorn workers of a server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_for_workers(server: LiveServer, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [p for p in children(server.process.pid)
                   if "multiprocessing" not in Path(f"/proc/{p}/cmdline").read_text()
                   or "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        healthy = all(httpx.get(f"{server.root}/healthz", timeout=5).status_code == 200
                      for _ in range(4))
        if len(workers) >= count and healthy:
            return workers
        time.sleep(0.3)
    raise AssertionError(f"{count} workers did not come up")


def setup(url: str, plan: PlanLimits) -> tuple[Database, str]:
    db = Database(url)
    db.migrate()
    tenancy.set_plan(db, OPERATOR, "tested", priority=0, limits=plan)
    tenancy.create_org(db, OPERATOR, "acme", plan="tested")
    tenancy.create_user(db, OPERATOR, "acme", "bob", role="admin")
    return db, tenancy.create_key(db, OPERATOR, "acme", "bob").secret


def chat(server: LiveServer, key: str, conversation: str | None = None) -> httpx.Response:
    body: dict = {"model": MODEL, "messages": [{"role": "user", "content": "hello there"}]}
    if conversation:
        body["metadata"] = {"conversation": conversation}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}"})


def test_a_rate_limit_holds_across_two_workers(tmp_path: Path, database_url: str) -> None:
    db, key = setup(database_url, PlanLimits(requests_per_minute=LevelLimits(key=10)))
    server = start_server(tmp_path, env={**FAKE_ENV, "HEARTH_DATABASE_URL": database_url},
                          args=["--workers", "2"])
    try:
        wait_for_workers(server, 2)
        first_minute = int(time.time()) // 60
        with ThreadPoolExecutor(12) as pool:
            statuses = sorted(r.status_code for r in pool.map(lambda _: chat(server, key),
                                                              range(30)))
        minutes = int(time.time()) // 60 - first_minute + 1
    finally:
        server.stop()
    # /healthz is not counted. The key gets its 10 requests in each minute the burst touched
    # (one, or two if the minute turned over: 30 requests are more than 10 in either half).
    answered = statuses.count(200)
    assert answered == 10 if minutes == 1 else 10 <= answered <= 10 * minutes
    assert statuses.count(429) == 30 - answered
    with db.session() as session:
        metered = session.scalar(select(func.count()).select_from(UsageRecord)
                                 .where(UsageRecord.status == 200))
    assert metered == statuses.count(200)


def test_killing_a_worker_mid_load_loses_nothing_acknowledged(tmp_path: Path,
                                                               database_url: str) -> None:
    db, key = setup(database_url, PlanLimits(concurrent_streams=LevelLimits(key=64)))
    server = start_server(tmp_path, args=["--workers", "2"],
                          env={**FAKE_ENV, "HEARTH_FAKE_TOKEN_DELAY": "0.02",
                               "HEARTH_DATABASE_URL": database_url})
    answered: list[str] = []
    keys_made: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            conversation = f"c{worker}-{n}"
            n += 1
            try:
                if chat(server, key, conversation).status_code == 200:
                    answered.append(conversation)
            except httpx.HTTPError:
                pass  # the killed worker's connections: not acknowledged

    def administer() -> None:
        while not stop.is_set():
            try:
                made = httpx.post(f"{server.root}/admin/v1/orgs/acme/keys", timeout=30,
                                  json={"user_id": "bob", "scopes": ["chat"]},
                                  headers={"Authorization": f"Bearer {key}"})
                if made.status_code == 201:
                    keys_made.append(made.json()["id"])
            except httpx.HTTPError:
                pass

    try:
        victim = wait_for_workers(server, 2)[0]
        threads = [threading.Thread(target=load, args=(i,)) for i in range(6)]
        threads.append(threading.Thread(target=administer))
        for thread in threads:
            thread.start()
        time.sleep(2)
        os.kill(victim, signal.SIGKILL)
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(60)
        assert httpx.get(f"{server.root}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()

    assert len(answered) > 20
    for conversation in answered:  # every acknowledged answer is stored
        stored = conversations.get_conversation(db, conversation, org_id="acme", user_id="bob")
        assert [m.role for m in stored.messages] == ["user", "assistant"], conversation
    with db.session() as session:
        metered = session.scalar(select(func.count()).select_from(UsageRecord)
                                 .where(UsageRecord.status == 200))
    assert metered >= len(answered)  # every acknowledged request is metered
    listed = {k.id for k in tenancy.list_keys(db, "acme")}
    assert set(keys_made) <= listed
    assert audit.verify(db).ok
