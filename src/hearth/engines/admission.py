"""Fair, bounded admission to an engine's slots.

A request holds a slot while it generates. Waiting requests are admitted first come, first
served; when ``max_queue`` are already waiting, a new one is refused with ``Overloaded``
(HTTP 503 with Retry-After) instead of letting the queue grow without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hearth.errors import Overloaded


class Admission:
    def __init__(self, slots: int, max_queue: int):
        self.slots = slots
        self.max_queue = max_queue
        self._semaphore = asyncio.Semaphore(slots)
        self.active = 0
        self.waiting = 0

    @property
    def depth(self) -> int:
        return self.active + self.waiting

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``; cancellation releases it."""
        if self._semaphore.locked() and self.waiting >= self.max_queue:
            raise Overloaded(
                f"The engine queue is full ({self.waiting} requests waiting); retry shortly.",
                retry_after=max(1, self.waiting // max(1, self.slots)),
            )
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._semaphore.release()
