"""Prometheus metrics for ``GET /metrics``.

Each app owns its registry, so several apps (in tests) never clash over metric names.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self, queue_depth: Callable[[], int]):
        self.registry = CollectorRegistry()
        self.requests = Counter("hearth_requests", "HTTP requests by route and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("hearth_request_duration_seconds", "Request latency",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.tokens = Counter("hearth_tokens", "Tokens read (prompt) and written (completion)",
                              ["direction"], registry=self.registry)
        # Looked up once: ``labels()`` costs more than the increment, twice per request.
        self._prompt_tokens = self.tokens.labels("prompt")
        self._completion_tokens = self.tokens.labels("completion")
        self.ttft = Histogram("hearth_time_to_first_token_seconds",
                              "Time from request to first generated token",
                              buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.queue = Gauge("hearth_queue_depth", "Requests generating or waiting for a slot",
                           registry=self.registry)
        self.queue.set_function(queue_depth)
        # Per route (and method and status): ``labels()`` costs more than what is counted.
        self._responses: dict[tuple[str, str, int], Counter] = {}
        self._latencies: dict[str, Histogram] = {}

    def count_response(self, route: str, method: str, status: int, seconds: float) -> None:
        counter = self._responses.get((route, method, status))
        if counter is None:
            counter = self._responses[route, method, status] = \
                self.requests.labels(route, method, str(status))
        counter.inc()
        latency = self._latencies.get(route)
        if latency is None:
            latency = self._latencies[route] = self.latency.labels(route)
        latency.observe(seconds)

    def count_tokens(self, prompt: int, completion: int) -> None:
        self._prompt_tokens.inc(prompt)
        self._completion_tokens.inc(completion)


class MetricsMiddleware:
    """Counts every response by route template and status, and times it to the last byte."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            self.metrics.count_response(getattr(scope.get("route"), "path", "unmatched"),
                                        scope["method"], status, time.perf_counter() - started)
