"""uvicorn's HTTP protocol (httptools), writing each response's head and body in one send.

uvicorn writes a response's status line and headers as soon as the app sends them, then the
body as a second write: two trips through the TCP stack, and often two wake-ups of the
client, for every small answer. On the gateway's route, where hearth's whole cost is a
millisecond, that second trip is worth saving. Here writes are held until the response is
complete, or at the latest until the event loop's next turn (a stream's head waiting for its
first event, or an interim "100 Continue", goes out then), and leave as one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeldWrites:
    """A transport whose writes wait for ``flush`` (scheduled at once, run on the loop's
    next turn); everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """Give it to uvicorn as ``http=``; it is uvicorn's own protocol in every other way."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_HeldWrites(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]  # the answer is whole: send it
        super().on_response_complete()
