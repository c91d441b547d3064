"""Cancel a request's work when its client goes away, so it gives back its engine slot.

Most answers are done long before anyone could notice a client left, so the watch costs a
request one timer and nothing else: the work runs in the request's own task (no second
task, no ``asyncio.wait``), and only a request still running when the timer fires pays for a
look at its connection, in a short task of its own, every ``interval_s`` after that.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request


class ClientLeft(Exception):
    """The client disconnected while its request was being worked on."""


class DisconnectWatch:
    """Use as ``async with DisconnectWatch(request):`` around the work to cancel.

    When the client is gone, the request's task is cancelled and the block raises
    ``ClientLeft`` instead of ``CancelledError``; a cancellation from anywhere else (the
    server shutting down) passes through as it came.
    """

    def __init__(self, request: Request, interval_s: float = 0.5):
        self._request = request
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._probe: asyncio.Task | None = None
        self._watching = False
        self._cancelled_it = False

    async def __aenter__(self) -> DisconnectWatch:
        self._task = asyncio.current_task()
        self._watching = True
        self._timer = self._loop.call_later(self._interval_s, self._look)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        self._watching = False
        if self._timer is not None:
            self._timer.cancel()
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
        if self._cancelled_it and exc_type is asyncio.CancelledError:
            self._task.uncancel()  # type: ignore[union-attr]
            raise ClientLeft() from None
        return False

    def _look(self) -> None:
        self._probe = self._loop.create_task(self._look_at_connection())

    async def _look_at_connection(self) -> None:
        gone = await self._request.is_disconnected()
        if not self._watching:  # the work finished meanwhile
            return
        if gone:
            self._cancelled_it = True
            self._task.cancel()  # type: ignore[union-attr]
        else:
            self._timer = self._loop.call_later(self._interval_s, self._look)
