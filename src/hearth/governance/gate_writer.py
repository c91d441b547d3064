"""Admissions and settlements of one server process, run in batches on one connection.

Every request writes to the database twice (admit, settle). Done one by one from a thread
pool, those writes queue for the database's write lock (and SQLite's busy handler makes
waiters sleep), and each hop to a thread costs about half a millisecond on a small machine.
Here requests that arrive together run in one transaction on a connection kept for the
purpose: the lock is taken once per batch and the commit is shared. On SQLite a batch runs
right on the event loop when the lock is free (a few hundred microseconds of work); when
another process holds it, the batch goes to a thread that may wait. A request with no
other generating request of this process in flight (one client at a time) has nobody to
share with, so on SQLite its work runs at once instead of waiting for the loop's next turn
to gather a batch of one. PostgreSQL batches
always run in a thread, since every statement is a network round trip. A caller still waits
for its batch's commit: nothing is acknowledged before it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from hearth.governance.driver_sql import DriverSQL
from hearth.governance.gate import Cost, Pass, admit_in, release_in, settle_in
from hearth.store.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    LockBusy,
    begin_immediate_now,
)

Outcome = tuple[Any, BaseException | None]


Run = Callable[[DriverSQL], Any]


@dataclass
class _Work:
    run: Run
    future: asyncio.Future[Any]


class GateWriter:
    def __init__(self, db: Database):
        self.db = db
        self._sqlite = db.engine.dialect.name == "sqlite"
        self._connection: Any = None  # taken on first use, so an idle app holds none
        self._sql: DriverSQL | None = None  # on the driver under it, kept with it
        self._queue: list[_Work] = []
        self._scheduled = False  # a _flush callback is due on the event loop
        self._in_thread = False  # a batch is waiting for the lock in a thread
        # Requests admitted to generate and not yet settled or released (ids of their passes).
        self._generating: set[int] = set()

    async def admit(self, secret: str | None, *, scope: str | None,
                    generates: bool = False) -> Pass:
        admitted = await self._submit(
            lambda sql: admit_in(sql, secret, scope=scope, generates=generates),
            others=len(self._generating))
        if generates:
            self._generating.add(id(admitted))
        return admitted

    async def settle(self, admitted: Pass, cost: Cost) -> None:
        self._generating.discard(id(admitted))
        await self._submit(lambda sql: settle_in(sql, admitted, cost), len(self._generating))

    async def release(self, admitted: Pass) -> None:
        """For a request admitted but never run: its stream lease goes back at once."""
        self._generating.discard(id(admitted))
        if admitted.lease_id is not None:
            await self._submit(lambda sql: release_in(sql, admitted), len(self._generating))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._sql = None

    async def _submit(self, run: Run, others: int) -> Any:
        """Run ``run`` in a transaction; ``others``: requests of this process between
        admission and settling, which may submit work of their own any moment."""
        if not others and self._sqlite and not (self._queue or self._scheduled or
                                                 self._in_thread):
            # Nobody here to share a batch with: run at once, sparing the wait for the
            # loop's next turn (and the future) that batching costs.
            try:
                [(result, error)] = self._run_batch([run], wait=False)
            except LockBusy:
                pass  # another process holds the lock: a thread waits for it, as below
            else:
                if error is not None:
                    raise error
                return result
        loop = asyncio.get_running_loop()
        work = _Work(run, loop.create_future())
        self._queue.append(work)
        if not self._scheduled and not self._in_thread:
            # Everything submitted before the loop gets to this callback joins the batch.
            self._scheduled = True
            loop.call_soon(self._flush)
        return await work.future

    def _flush(self) -> None:
        """Run the queued batch on the event loop, or hand it to a thread if it must wait."""
        self._scheduled = False
        batch, self._queue = self._queue, []
        if not batch:
            return
        if self._sqlite:
            try:
                self._deliver(batch, self._run_batch([w.run for w in batch], wait=False))
                return
            except LockBusy:
                pass  # another process holds the lock: wait for it off the event loop
        self._in_thread = True
        asyncio.get_running_loop().create_task(self._flush_in_thread(batch))

    async def _flush_in_thread(self, batch: list[_Work]) -> None:
        try:
            while batch:
                self._deliver(batch, await run_in_threadpool(
                    self._run_batch, [w.run for w in batch], True))
                batch, self._queue = self._queue, []
        finally:
            self._in_thread = False

    def _deliver(self, batch: list[_Work], outcomes: list[Outcome]) -> None:
        for work, (result, error) in zip(batch, outcomes, strict=True):
            if work.future.done():  # its request was cancelled (the client left) meanwhile
                if isinstance(result, Pass) and result.lease_id is not None:
                    asyncio.get_running_loop().create_task(self.release(result))
                continue
            if error is not None:
                work.future.set_exception(error)
            else:
                work.future.set_result(result)

    def _begin(self, wait: bool) -> DriverSQL:
        if self._sql is None:
            self._connection = self.db.dedicated_connection(relaxed=True)
            self._sql = DriverSQL(self._connection.driver_connection, sqlite=self._sqlite)
            if self._sqlite:  # the inline path must never sleep on the lock
                self._sql.execute("PRAGMA busy_timeout = 0")
        sql = self._sql
        driver = sql.driver_connection
        if not self._sqlite:
            sql.execute("SET LOCAL synchronous_commit = off")
        elif wait:  # in a thread: wait for the lock as long as any other connection would
            driver.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            try:
                driver.execute("BEGIN IMMEDIATE")
            finally:
                driver.execute("PRAGMA busy_timeout = 0")
        else:
            begin_immediate_now(driver)
        return sql

    def _run_batch(self, batch: list[Run], wait: bool) -> list[Outcome]:
        try:
            sql = self._begin(wait)
        except LockBusy:
            raise
        except Exception as exc:  # no connection: nobody in the batch got through
            self.close()
            return [(None, exc)] * len(batch)
        outcomes: list[Outcome] = []
        try:
            for run in batch:
                try:
                    outcomes.append((run(sql), None))
                except Exception as exc:  # this request's refusal; the batch goes on
                    outcomes.append((None, exc))
            sql.driver_connection.commit()
        except Exception as exc:  # the transaction failed: nobody in the batch got through
            self.close()  # a broken connection is replaced on the next batch
            return [(None, exc)] * len(batch)
        return outcomes
