"""Bounded admission to an engine's slots, by plan priority, without starvation.

A request holds a slot while it generates. When every slot is busy, waiting requests are
admitted in order of arrival time moved earlier by ``AGING_SECONDS`` per priority level:
a higher plan goes ahead of lower plans' recent arrivals, but a request that has waited
longer than that head start goes first whatever its plan, so nobody waits forever. When
``max_queue`` are already waiting, a newcomer is refused with ``Overloaded`` (HTTP 503 with
Retry-After), unless it outranks the last in line, which is refused in its place.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from hearth.errors import Overloaded

AGING_SECONDS = 10.0  # head start per priority level


@dataclass(order=True)
class _Waiter:
    rank: float
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class Admission:
    def __init__(self, slots: int, max_queue: int):
        self.slots = slots
        self.max_queue = max_queue
        self.active = 0
        self._queue: list[_Waiter] = []  # a heap: the first to admit on top
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def depth(self) -> int:
        return self.active + self.waiting

    def _overloaded(self) -> Overloaded:
        return Overloaded(
            f"The engine queue is full ({self.waiting} requests waiting); retry shortly.",
            retry_after=max(1, self.waiting // max(1, self.slots)),
        )

    def _enqueue(self, priority: int) -> _Waiter:
        waiter = _Waiter(time.monotonic() - priority * AGING_SECONDS, next(self._seq),
                         asyncio.get_running_loop().create_future())
        if self.waiting >= self.max_queue:
            last = max(self._queue, default=None)
            if last is None or last < waiter:
                raise self._overloaded()
            self._queue.remove(last)
            heapq.heapify(self._queue)
            last.future.set_exception(self._overloaded())
        heapq.heappush(self._queue, waiter)
        return waiter

    def _release(self) -> None:
        while self._queue:
            waiter = heapq.heappop(self._queue)
            if not waiter.future.done():  # a cancelled waiter gives its place back
                waiter.future.set_result(None)
                return  # the slot passes straight to it
        self.active -= 1

    @asynccontextmanager
    async def slot(self, priority: int = 0) -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``; cancellation releases it."""
        if self.active < self.slots and not self._queue:
            self.active += 1
        else:
            waiter = self._enqueue(priority)
            try:
                await waiter.future
            except asyncio.CancelledError:
                if waiter in self._queue:
                    self._queue.remove(waiter)
                    heapq.heapify(self._queue)
                elif waiter.future.done() and not waiter.future.cancelled() \
                        and waiter.future.exception() is None:
                    self._release()  # the slot was handed over just as we were cancelled
                raise
        try:
            yield
        finally:
            self._release()
