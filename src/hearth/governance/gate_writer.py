"""Admissions and settlements of one server process, run in batches.

Every request writes to the database twice (admit, settle). Done one by one from a thread
pool, those writes queue for the database's write lock (and SQLite's busy handler makes
waiters sleep), and each hop to a thread costs about half a millisecond on a small machine.
Here requests that arrive together are run in one transaction: the lock is taken once per
batch and the commit is shared. On SQLite a batch runs right on the event loop when the
lock is free (a few hundred microseconds of work); when another process holds it, the batch
goes to a thread that may wait. PostgreSQL batches always run in a thread, since every
statement is a network round trip. A caller still waits for its batch's commit: nothing is
acknowledged before it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from hearth.governance.gate import Cost, Pass, admit_in, settle_in
from hearth.store.db import Database, LockBusy

Outcome = tuple[Any, BaseException | None]


@dataclass
class _Work:
    run: Callable[[Connection], Any]
    future: asyncio.Future[Any]


class GateWriter:
    def __init__(self, db: Database):
        self.db = db
        self._inline = db.engine.dialect.name == "sqlite"
        self._queue: list[_Work] = []
        self._flushing = False

    async def admit(self, secret: str | None, *, scope: str | None,
                    generates: bool = False) -> Pass:
        return await self._submit(
            lambda connection: admit_in(connection, secret, scope=scope, generates=generates))

    async def settle(self, admitted: Pass, cost: Cost) -> None:
        await self._submit(lambda connection: settle_in(connection, admitted, cost))

    async def _submit(self, run: Callable[[Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        work = _Work(run, loop.create_future())
        self._queue.append(work)
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush())
        return await work.future

    async def _flush(self) -> None:
        """Run what has queued up, batch after batch, until the queue is empty."""
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                outcomes = None
                if self._inline:
                    try:
                        outcomes = self._run_batch(batch, wait=False)
                    except LockBusy:
                        outcomes = None
                if outcomes is None:
                    outcomes = await run_in_threadpool(self._run_batch, batch, True)
                for work, (result, error) in zip(batch, outcomes, strict=True):
                    if work.future.done():  # its request was cancelled meanwhile
                        continue
                    if error is not None:
                        work.future.set_exception(error)
                    else:
                        work.future.set_result(result)
        finally:
            self._flushing = False

    def _run_batch(self, batch: list[_Work], wait: bool) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            with self.db.locked_connection(relaxed=True, wait=wait) as connection:
                for work in batch:
                    try:
                        outcomes.append((work.run(connection), None))
                    except Exception as exc:  # this request's refusal; the batch goes on
                        outcomes.append((None, exc))
        except LockBusy:
            raise
        except Exception as exc:  # the transaction failed: nobody in the batch got through
            return [(None, exc)] * len(batch)
        return outcomes
