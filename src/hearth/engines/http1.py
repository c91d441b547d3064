"""A minimal keep-alive HTTP/1.1 client for POSTs to one origin: the upstream engine's hop.

Why not httpx or aiohttp: on the 2-core machine hearth is benchmarked on, hearth in front of an
instant upstream answered a 1-client request in 1.23-1.49 ms (p50) through aiohttp 3.14 and in
1.01-1.07 ms through this, and served 920 instead of 625-770 requests/s (httpx 0.28 was slower
still: about 1.6 ms of CPU per request, and its pool probes every idle connection's socket on
each request). The hop is all the upstream engine adds, so it is kept this small: one write per
request (head and body together), llhttp (httptools, already there for uvicorn) to parse, and a
stack of idle connections per origin.

What it does not do: proxies, redirects, compression, HTTP/2, cookies. It does TLS for https
URLs, chunked and length-delimited bodies, read timeouts, and flow control while a caller reads
a stream slower than the upstream sends it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

PAUSE_ABOVE_BYTES = 1 << 20  # unread body buffered before the upstream is asked to wait


async def _within(waited: asyncio.Future[None], seconds: float | None) -> None:
    """Await ``waited``, raising TimeoutError if it takes longer than ``seconds``.

    What ``asyncio.timeout`` does for any await, for the one future this client waits on, at
    a fraction of its cost (which was several times the wait itself on an instant answer).
    """
    if seconds is None:
        await waited
        return
    timer = asyncio.get_running_loop().call_later(seconds, _expire, waited)
    try:
        await waited
    finally:
        timer.cancel()


def _expire(waited: asyncio.Future[None]) -> None:
    if not waited.done():
        waited.set_exception(TimeoutError())


class UpstreamUnreachable(ConnectionError):
    """No answer began: the connection could not be made, or closed before a response.
    The request may be retried elsewhere."""


class ResponseBroken(ConnectionError):
    """The answer began but the connection broke or the HTTP was invalid before it ended."""


class Response:
    """A response whose status and headers have arrived; the body is read from it."""

    def __init__(self, connection: "_Connection", url: str):
        self.url = url
        self.status = 0
        self.headers: dict[str, str] = {}  # lower-case names
        self._connection: _Connection | None = connection
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._complete = False
        self._error: Exception | None = None
        self._wakeup: asyncio.Future[None] | None = None

    async def read(self) -> bytes:
        """The whole (rest of the) body."""
        return b"".join([chunk async for chunk in self.chunks()])

    async def lines(self) -> AsyncIterator[bytes]:
        """The body split at newlines (without them), for server-sent events."""
        pending = b""
        async for chunk in self.chunks():
            pending += chunk
            *whole, pending = pending.split(b"\n")
            for line in whole:
                yield line.rstrip(b"\r")
        if pending:
            yield pending

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            while self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._connection is not None and self._buffered < PAUSE_ABOVE_BYTES:
                    self._connection.resume()
                yield chunk
            if self._error is not None:
                raise self._error
            if self._complete:
                return
            self._wakeup = asyncio.get_running_loop().create_future()
            await _within(self._wakeup, self._connection.read_timeout_s if self._connection
                          else None)

    def close(self) -> None:
        """Drop the connection unless the whole response has arrived (then it is already back
        in the pool); closing it is how the upstream learns to stop generating."""
        if self._connection is not None and not self._complete:
            self._connection.abort()
        self._connection = None

    # called by the connection
    def _feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > PAUSE_ABOVE_BYTES and self._connection is not None:
            self._connection.pause()
        self._wake()

    def _finish(self, error: Exception | None = None) -> None:
        self._complete = error is None
        self._error = error
        self._connection = None if error is None else self._connection
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; it carries one request at a time."""

    def __init__(self, pool: "Http1Pool"):
        self.pool = pool
        self.read_timeout_s = pool.read_timeout_s
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self.headers_arrived: asyncio.Future[None] | None = None
        self.received_any = False
        self.closed = False
        self.idle_since = 0.0
        self._paused = False

    def send(self, head_and_body: bytes, url: str) -> Response:
        assert self.transport is not None
        self.response = Response(self, url)
        self.headers_arrived = asyncio.get_running_loop().create_future()
        self.received_any = False
        self.transport.write(head_and_body)
        return self.response

    def pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ResponseBroken(f"invalid HTTP from the upstream: {exc}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.response is not None:
            if self.received_any:
                self._fail(ResponseBroken(f"the upstream closed the connection mid-answer"
                                          f"{f' ({exc})' if exc else ''}"))
            else:
                self._fail(UpstreamUnreachable("the upstream closed the connection before "
                                               "answering"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if self.response is not None:
            self.response.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self.response is not None:
            self.response.status = self.parser.get_status_code()
        if self.headers_arrived is not None and not self.headers_arrived.done():
            self.headers_arrived.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.response is not None:
            self.response._feed(body)

    def on_message_complete(self) -> None:
        response, self.response = self.response, None
        if response is not None:
            response._finish()
        self.resume()  # the answer is whole: whatever was paused for it is not the next one's
        if self.parser.should_keep_alive() and not self.closed:
            self.pool.release(self)
        else:
            self.abort()

    def _fail(self, error: ConnectionError) -> None:
        response, self.response = self.response, None
        if self.headers_arrived is not None and not self.headers_arrived.done():
            self.headers_arrived.set_exception(error)
        elif response is not None:
            response._finish(error)


class Http1Pool:
    """Keep-alive connections to one origin (``base_url``, e.g. ``http://10.0.0.5:8000/v1``),
    with fixed headers sent on every request."""

    def __init__(self, base_url: str, headers: dict[str, str], *, connect_timeout_s: float,
                 read_timeout_s: float, keepalive_s: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.prefix = parts.path.rstrip("/").encode()
        fixed = {"host": parts.netloc, "user-agent": "hearth", **headers}
        self._fixed_head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.keepalive_s = keepalive_s
        self._idle: list[_Connection] = []

    async def post(self, path: str, body: bytes) -> Response:
        """POST ``body`` to ``base_url + path``; return once the response's headers are in.

        Raises UpstreamUnreachable when no answer began (a kept-alive connection that the
        upstream closed just as it was reused is retried once on a new one first),
        ResponseBroken when the answer broke off, TimeoutError when none came in time.
        """
        request = (b"POST %s%s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n"
                   % (self.prefix, path.encode(), self._fixed_head, len(body))) + body
        url = f"{self.base_url}{path}"
        reused = self._take_idle()
        if reused is not None:
            try:
                return await self._exchange(reused, request, url)
            except UpstreamUnreachable:
                pass  # the upstream had just closed it; a new connection follows
        return await self._exchange(await self._connect(), request, url)

    def release(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().abort()

    async def _exchange(self, connection: _Connection, request: bytes, url: str) -> Response:
        response = connection.send(request, url)
        try:
            await _within(connection.headers_arrived, self.read_timeout_s)  # type: ignore[arg-type]
        except BaseException:  # cancelled, timed out or failed: the connection is unusable
            connection.abort()
            raise
        return response

    def _take_idle(self) -> _Connection | None:
        """The most recently used idle connection that is still open and fresh (the upstream
        may close one that idled past its own keep-alive time)."""
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            fresh = now - connection.idle_since < self.keepalive_s
            if fresh and not connection.closed and not connection.transport.is_closing():
                return connection
            connection.abort()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self.ssl)
        except (OSError, TimeoutError) as exc:
            raise UpstreamUnreachable(f"cannot connect to {self.host}:{self.port}: "
                                      f"{exc.__class__.__name__}: {exc}") from None
        return connection
