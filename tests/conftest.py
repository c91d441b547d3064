"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from live_server import LiveServer, start_server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Factory: start servers for this test; all are stopped afterwards."""
    started: list[LiveServer] = []

    def _start(env: dict[str, str] | None = None, args: list[str] | None = None,
               home: Path | None = None) -> LiveServer:
        server = start_server(home or tmp_path / "home", env, args)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()

