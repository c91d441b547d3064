"""Real `hearth serve` processes on 127.0.0.1 for tests: start, wait until healthy, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from hearth.config import DEFAULT_CHAT_MODEL, Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    process: subprocess.Popen
    base_url: str  # ends in /v1
    home: Path

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(home: Path, env: dict[str, str] | None = None,
                 args: list[str] | None = None, timeout: float = 120) -> LiveServer:
    """Start `hearth serve` on a free port and wait until /healthz answers."""
    port = free_port()
    full_env = {**os.environ, "HEARTH_HOME": str(home), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "serve", "--host", "127.0.0.1", "--port", str(port),
         *(args or [])],
        env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    server = LiveServer(process, f"http://127.0.0.1:{port}/v1", home)
    _wait_until_answering(process, f"{server.root}/healthz", "hearth serve", timeout,
                          server.stop)
    return server


def _wait_until_answering(process: subprocess.Popen, url: str, what: str, timeout: float,
                          stop: Callable[[], None]) -> None:
    """Return once ``url`` answers 200; if the process exits or time runs out, stop it and
    raise with what it printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{process.stdout.read()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop()
    raise RuntimeError(f"{what} did not answer in time")


@dataclass
class FakeUpstreamServer:
    process: subprocess.Popen
    base_url: str  # ends in /v1

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_fake_upstream(args: list[str] | None = None, timeout: float = 30) -> FakeUpstreamServer:
    """Start `python -m hearth.bench.fake_upstream` on a free port; wait for /v1/models."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth.bench.fake_upstream", "--port", str(port), *(args or [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    server = FakeUpstreamServer(process, f"http://127.0.0.1:{port}/v1")
    _wait_until_answering(process, f"{server.base_url}/models", "the fake upstream", timeout,
                          server.stop)
    return server


FAKE_ENV = {"HEARTH_ENGINE": "fake", "HEARTH_MODEL": "fake-model"}


def default_model_path() -> Path:
    return Settings().models_dir / f"{DEFAULT_CHAT_MODEL}.gguf"
