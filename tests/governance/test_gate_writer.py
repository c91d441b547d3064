"""The gate writer: requests that arrive together share a transaction, a refusal stays
one request's, and a lock held by another process never stalls the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pysqlite3.dbapi2 as sqlite
from sqlalchemy import func, select

from hearth.errors import Unauthorized
from hearth.governance import tenancy
from hearth.governance.gate import Cost
from hearth.governance.gate_writer import GateWriter
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.store.db import Database
from hearth.store.tables import StreamLease, UsageRecord

OPERATOR = "test"


def key(db: Database, user: str = "ann") -> str:
    if not any(o.id == "acme" for o in tenancy.list_orgs(db)):
        tenancy.create_org(db, OPERATOR, "acme", plan="pro")
    tenancy.create_user(db, OPERATOR, "acme", user)
    return tenancy.create_key(db, OPERATOR, "acme", user).secret


def usage_records(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(UsageRecord)) or 0)


def test_requests_that_arrive_together_share_one_transaction(db: Database) -> None:
    secret = key(db)
    writer = GateWriter(db)
    batches: list[int] = []
    run_batch = writer._run_batch

    def counting(batch, wait):  # type: ignore[no-untyped-def]
        batches.append(len(batch))
        return run_batch(batch, wait)

    writer._run_batch = counting  # type: ignore[method-assign]

    async def scenario() -> None:
        passes = await asyncio.gather(*[writer.admit(secret, scope="chat", generates=True)
                                        for _ in range(12)])
        await asyncio.gather(*[writer.settle(p, Cost(model="m", route="chat", status=200,
                                                     duration_ms=1.0)) for p in passes])

    asyncio.run(scenario())
    writer.close()
    # The first admission found nobody in flight to wait for; the others joined one batch.
    assert batches == [1, 11, 12]
    assert usage_records(db) == 12


def test_a_request_alone_runs_its_transactions_without_waiting_for_the_loop(
        db: Database) -> None:
    secret = key(db)
    writer = GateWriter(db)
    cost = Cost(model="m", route="chat", status=200, duration_ms=1.0)

    flushes: list[None] = []
    writer._flush = lambda: flushes.append(None)  # type: ignore[method-assign]

    async def scenario() -> None:
        for _ in range(3):
            await writer.settle(await writer.admit(secret, scope="chat", generates=True),
                                cost)

    asyncio.run(asyncio.wait_for(scenario(), timeout=10))
    writer.close()
    assert flushes == []  # no batch was gathered on the loop
    assert usage_records(db) == 3


def test_a_refused_request_does_not_fail_its_batch(db: Database) -> None:
    good, bad = key(db, "ann"), key(db, "bob")
    [bad_key] = [k for k in tenancy.list_keys(db, "acme") if k.user_id == "bob"]
    tenancy.revoke_key(db, OPERATOR, bad_key.id)
    writer = GateWriter(db)

    async def scenario() -> list[object]:
        return await asyncio.gather(writer.admit(good, scope="chat"),
                                    writer.admit(bad, scope="chat"), return_exceptions=True)

    admitted, refused = asyncio.run(scenario())
    writer.close()
    assert admitted.principal.user_id == "ann"  # type: ignore[union-attr]
    assert isinstance(refused, Unauthorized) and refused.code == "revoked_api_key"


def test_a_lock_held_elsewhere_is_waited_for_off_the_event_loop(db: Database) -> None:
    secret = key(db)
    writer = GateWriter(db)
    path = db.engine.url.database
    locked, release = threading.Event(), threading.Event()

    def other_process() -> None:  # another worker in the middle of a write
        connection = sqlite.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(5)
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    locked.wait(5)

    async def scenario() -> tuple[int, float]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, release.set)
        started = time.monotonic()
        await writer.admit(secret, scope="chat")
        ticker.cancel()
        return ticks, time.monotonic() - started

    ticks, waited = asyncio.run(scenario())
    holder.join()
    writer.close()
    assert waited >= 0.25  # it did wait for the lock...
    assert ticks >= 10  # ...while the event loop went on serving


def test_a_client_that_leaves_before_its_admission_lands_gives_the_stream_back(
        db: Database) -> None:
    tenancy.set_plan(db, OPERATOR, "one-stream", priority=0, limits=PlanLimits(
        concurrent_streams=LevelLimits(key=1)))
    tenancy.create_org(db, OPERATOR, "acme", plan="one-stream")
    tenancy.create_user(db, OPERATOR, "acme", "ann")
    tenancy.create_user(db, OPERATOR, "acme", "bob")
    secret = tenancy.create_key(db, OPERATOR, "acme", "ann").secret
    other = tenancy.create_key(db, OPERATOR, "acme", "bob").secret
    writer = GateWriter(db)

    async def scenario() -> int | None:
        # Another request in flight, so admissions are batched rather than run at once.
        await writer.admit(other, scope="chat", generates=True)
        left = asyncio.create_task(writer.admit(secret, scope="chat", generates=True))
        await asyncio.sleep(0)  # queued; the batch runs on the loop's next turn
        left.cancel()
        for _ in range(5):
            await asyncio.sleep(0.01)
        return (await writer.admit(secret, scope="chat", generates=True)).lease_id

    lease = asyncio.run(scenario())
    writer.close()
    assert lease is not None  # the one stream was free again
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StreamLease)) == 2  # ann, bob
