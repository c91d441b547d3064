"""The upstream engine's HTTP/1.1 client against small real servers on 127.0.0.1, each
answering in a way a real upstream might: chunked, closing, breaking off."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from hearth.engines.http1 import Http1Pool, ResponseBroken, UpstreamUnreachable

Answer = Callable[[asyncio.StreamWriter, int], Awaitable[bool]]  # -> keep the connection open?


@dataclass
class Upstream:
    server: asyncio.Server
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0


async def serve(answer: Answer) -> Upstream:
    """A server that reads each request whole, records it, and lets ``answer`` reply."""
    upstream = Upstream(server=None)  # type: ignore[arg-type]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream.connections += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            upstream.requests.append(head + await reader.readexactly(length))
            if not await answer(writer, len(upstream.requests)):
                break
        writer.close()

    upstream.server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return upstream


def pool_for(upstream: Upstream, keepalive_s: float = 5.0) -> Http1Pool:
    port = upstream.server.sockets[0].getsockname()[1]
    return Http1Pool(f"http://127.0.0.1:{port}/v1", {"authorization": "Bearer k"},
                     connect_timeout_s=1, read_timeout_s=2, keepalive_s=keepalive_s)


async def reply(writer: asyncio.StreamWriter, body: bytes, status: int = 200) -> None:
    writer.write(b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n\r\n%s" % (status, len(body), body))
    await writer.drain()


def test_requests_reuse_one_kept_alive_connection_and_carry_the_fixed_headers() -> None:
    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        await reply(writer, b'{"n": %d}' % n)
        return True

    async def main() -> None:
        upstream = await serve(answer)
        pool = pool_for(upstream)
        bodies = [await (await pool.post("/chat/completions", b"{}")).read() for _ in range(3)]
        pool.close()
        upstream.server.close()
        assert bodies == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
        assert upstream.connections == 1
        for request in upstream.requests:
            assert request.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
            assert b"authorization: Bearer k\r\n" in request and request.endswith(b"{}")

    asyncio.run(main())


def test_a_chunked_stream_is_read_line_by_line_as_it_arrives() -> None:
    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b"data: one\n\nda", b"ta: two\n\n", b"data: [DONE]\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return True

    async def main() -> list[bytes]:
        upstream = await serve(answer)
        pool = pool_for(upstream)
        response = await pool.post("/chat/completions", b"{}")
        lines = [line async for line in response.lines() if line]
        again = await pool.post("/chat/completions", b"{}")  # the connection went back whole
        await again.read()
        pool.close()
        upstream.server.close()
        assert upstream.connections == 1
        return lines

    assert asyncio.run(main()) == [b"data: one", b"data: two", b"data: [DONE]"]


def test_a_connection_the_upstream_closed_while_idle_is_replaced() -> None:
    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        await reply(writer, b"ok")
        return False  # closes after every answer, as after its keep-alive timeout

    async def main() -> list[int]:
        upstream = await serve(answer)
        pool = pool_for(upstream)
        statuses = []
        for pause in (0.05, 0, 0.05):  # the close has arrived, or not yet: both must work
            statuses.append((await pool.post("/x", b"{}")).status)
            await asyncio.sleep(pause)
        pool.close()
        upstream.server.close()
        assert (len(upstream.requests), upstream.connections) == (3, 3)
        return statuses

    assert asyncio.run(main()) == [200, 200, 200]


def test_nothing_listening_is_unreachable_and_a_broken_answer_is_broken() -> None:
    async def half(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()
        return False

    async def main() -> None:
        upstream = await serve(half)
        pool = pool_for(upstream)
        response = await pool.post("/x", b"{}")
        with pytest.raises(ResponseBroken):
            await response.read()
        gone = pool_for(upstream)
        upstream.server.close()
        await upstream.server.wait_closed()
        with pytest.raises(UpstreamUnreachable):
            await gone.post("/x", b"{}")

    asyncio.run(main())


def quick_pool(upstream: Upstream) -> Http1Pool:
    port = upstream.server.sockets[0].getsockname()[1]
    return Http1Pool(f"http://127.0.0.1:{port}/v1", {}, connect_timeout_s=1,
                     read_timeout_s=0.2, keepalive_s=5.0)


def test_an_upstream_that_never_answers_times_out_and_its_connection_is_dropped() -> None:
    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(2)
        return False

    async def main() -> None:
        upstream = await serve(answer)
        pool = quick_pool(upstream)
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await pool.post("/chat/completions", b"{}")
        assert asyncio.get_running_loop().time() - started < 1
        assert pool._take_idle() is None
        upstream.server.close()

    asyncio.run(main())


def test_a_body_that_stops_arriving_times_out() -> None:
    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        await writer.drain()
        await asyncio.sleep(2)
        return False

    async def main() -> None:
        upstream = await serve(answer)
        pool = quick_pool(upstream)
        response = await pool.post("/chat/completions", b"{}")
        with pytest.raises(TimeoutError):
            await response.read()
        response.close()
        upstream.server.close()

    asyncio.run(main())
