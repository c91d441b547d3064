"""``hearth bench engine``: its arithmetic, its client driver and its server lifecycle.

No test here asserts a speed: the numbers a benchmark prints are its output, never a pass/fail
condition. The driver runs against a tiny OpenAI-compatible server started in the test (so the
test controls usage, errors and what it received) and against ``hearth serve`` with the fake
engine (so the real start, health check, warm-up and stop run end to end).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from hearth.bench import engine as bench
from hearth.bench.engine import (
    BenchConfig,
    BenchError,
    LevelResult,
    RequestSample,
    SystemResult,
)
from hearth.cli.main import app

# --- the arithmetic -------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert bench.percentile(values, 50) == 3.0
    assert bench.percentile(values, 95) == pytest.approx(4.8)
    assert bench.percentile(values, 100) == 5.0
    assert bench.percentile([7.0], 95) == 7.0
    assert bench.percentile([], 50) is None


def test_usage_is_trusted_first_then_a_length_cut_then_chunks() -> None:
    assert bench.count_completion_tokens(40, "length", 30, 64) == (40, "usage")
    assert bench.count_completion_tokens(None, "length", 60, 64) == (64, "length")
    assert bench.count_completion_tokens(None, "stop", 17, 64) == (17, "chunks")


def test_failed_requests_are_counted_but_never_timed() -> None:
    samples = [
        RequestSample(latency_s=2.0, ttft_s=0.5, completion_tokens=16, token_source="usage"),
        RequestSample(latency_s=4.0, ttft_s=1.0, completion_tokens=16, token_source="usage"),
        RequestSample(latency_s=0.01, ttft_s=None, completion_tokens=0, token_source="chunks",
                      error="APIStatusError(503)"),
    ]
    level = bench.summarise(clients=2, samples=samples, wall_s=4.0)
    assert (level.requests, level.errors, level.completion_tokens) == (3, 1, 32)
    assert level.total_tps == 8.0
    assert level.latency_p50_s == 3.0
    assert level.ttft_p50_s == 0.75
    assert level.token_sources == {"usage": 2}
    assert level.first_error == "APIStatusError(503)"


def test_decode_rate_leaves_out_the_first_token_and_the_wait_for_it() -> None:
    # 11 tokens in 3 s, the first after 1 s: 10 tokens decoded in the remaining 2 s.
    sample = RequestSample(latency_s=3.0, ttft_s=1.0, completion_tokens=11, token_source="usage")
    assert bench.summarise(1, [sample], wall_s=3.0).decode_tps == 5.0


def test_one_request_slowed_by_a_neighbour_does_not_decide_the_decode_rate() -> None:
    samples = [RequestSample(latency_s=3.0, ttft_s=1.0, completion_tokens=11, token_source="usage"),
               RequestSample(latency_s=3.0, ttft_s=1.0, completion_tokens=11, token_source="usage"),
               RequestSample(latency_s=21.0, ttft_s=1.0, completion_tokens=11,
                             token_source="usage")]
    assert bench.summarise(1, samples, wall_s=27.0).decode_tps == 5.0


def test_a_level_with_nothing_measured_has_no_rates() -> None:
    level = bench.summarise(1, [], wall_s=0.0)
    assert level.total_tps == 0.0
    assert level.decode_tps is None and level.latency_p95_s is None


def _level(clients: int, total_tps: float, decode_tps: float | None, p95: float,
           ttft: float = 0.1, errors: int = 0) -> LevelResult:
    return LevelResult(clients=clients, requests=4, errors=errors, completion_tokens=256,
                       wall_s=1.0,
                       total_tps=total_tps, decode_tps=decode_tps, ttft_p50_s=ttft,
                       latency_p50_s=p95 / 2, latency_p95_s=p95, token_sources={"usage": 4})


def test_goals_compare_hearth_with_direct_at_one_client_and_the_peer_above() -> None:
    systems = {
        "direct": SystemResult("direct", "", levels=[_level(1, 20.0, 20.0, 3.0, ttft=0.2)]),
        "peer": SystemResult("peer", "", levels=[_level(1, 19.0, 19.0, 3.2),
                                                 _level(4, 19.0, 19.0, 14.0)]),
        "hearth": SystemResult("hearth", "", levels=[_level(1, 18.0, 18.0, 3.3, ttft=0.21),
                                                     _level(4, 38.0, 10.0, 16.0)]),
    }
    ratios, goals = bench.compare(systems, clients=(1, 4))
    assert ratios["hearth_vs_direct_1client_tps"] == pytest.approx(0.9)
    assert ratios["hearth_vs_direct_1client_ttft"] == pytest.approx(1.05)
    assert ratios["hearth_vs_peer_tps_at_4"] == pytest.approx(2.0)
    assert ratios["hearth_vs_peer_p95_at_4"] == pytest.approx(16 / 14)
    assert [(g.ratio, g.met) for g in goals] == [
        ("hearth_vs_direct_1client_tps", False),  # 0.9 < 0.95
        ("hearth_vs_direct_1client_ttft", True),  # 1.05 <= 1.1
        ("hearth_vs_peer_tps_at_4", True),
        ("hearth_vs_peer_p95_at_4", False),  # slower tail than the peer
    ]


def test_hearth_cannot_meet_a_goal_by_failing_requests() -> None:
    systems = {
        "peer": SystemResult("peer", "", levels=[_level(4, 19.0, 19.0, 14.0)]),
        "hearth": SystemResult("hearth", "", levels=[_level(4, 38.0, 10.0, 5.0, errors=1)]),
    }
    _, goals = bench.compare(systems, clients=(4,))
    assert [goal.met for goal in goals] == [False, False]


def test_goals_against_a_system_that_was_not_measured_are_undecided() -> None:
    systems = {
        "direct": SystemResult("direct", "", levels=[_level(1, 20.0, 20.0, 3.0)]),
        "hearth": SystemResult("hearth", "", error="did not start"),
    }
    ratios, goals = bench.compare(systems, clients=(1, 16))
    assert ratios["hearth_vs_direct_1client_tps"] is None
    assert ratios["hearth_vs_peer_tps_at_16"] is None
    assert all(goal.met is None for goal in goals)


def test_cpu_used_by_other_processes_is_what_the_machine_did_minus_ours(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 2)
    before = bench.CpuSnapshot(machine_busy_s=10.0, ours_s=1.0, at=100.0)
    after = bench.CpuSnapshot(machine_busy_s=14.0, ours_s=3.0, at=102.0)
    # 4 busy CPU-seconds in 2 s on 2 CPUs, 2 of them ours: others used half the machine.
    assert bench.others_cpu_share(before, after) == 0.5
    assert bench.others_cpu_share(None, after) is None
    snapshot = bench.cpu_snapshot()  # None off Linux
    assert snapshot is None or snapshot.machine_busy_s > 0


def test_every_level_mixes_the_same_prompts_for_every_system() -> None:
    first_four = {bench.prompt_for(0, j)[0]["content"] for j in range(len(bench.PROMPTS))}
    assert first_four == set(bench.PROMPTS)
    assert bench.prompt_for(3, 2) == bench.prompt_for(1, 4)


# --- the client driver against a tiny OpenAI-compatible server ------------------------------


@dataclass
class TinyServer:
    """What the tiny server is told to do, and what it was sent."""

    base_url: str = ""
    send_usage: bool = True
    finish_reason: str = "length"
    fail_every: int = 0  # answer 500 to every n-th chat request (0: never)
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: TinyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": "tiny", "object": "model", "created": 0, "owned_by": "test"}]})
            else:
                self._json(404, {"error": {"message": "no such path"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.received.append(body)
                count = len(state.received)
            if state.fail_every and count % state.fail_every == 0:
                self._json(500, {"error": {"message": "boom", "type": "server_error"}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            words = ["tok"] * min(body["max_tokens"], 5)
            base = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                    "model": "tiny"}
            events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"},
                                            "finish_reason": None}]}]
            events += [{**base, "choices": [{"index": 0, "delta": {"content": w + " "},
                                             "finish_reason": None}]} for w in words]
            events.append({**base, "choices": [{"index": 0, "delta": {},
                                                "finish_reason": state.finish_reason}]})
            if state.send_usage and body.get("stream_options", {}).get("include_usage"):
                events.append({**base, "choices": [], "usage": {
                    "prompt_tokens": 3, "completion_tokens": len(words),
                    "total_tokens": 3 + len(words)}})
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


@pytest.fixture
def tiny() -> Iterator[TinyServer]:
    state = TinyServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_each_client_sends_its_requests_with_the_same_sampling_settings(tiny: TinyServer) -> None:
    level = asyncio.run(bench.drive_clients(tiny.base_url, "tiny", clients=4,
                                            requests_per_client=2, max_tokens=5, seed=7))
    assert (level.clients, level.requests, level.errors) == (4, 8, 0)
    assert level.completion_tokens == 8 * 5
    assert level.token_sources == {"usage": 8}
    assert level.ttft_p50_s is not None and level.latency_p95_s is not None
    assert len(tiny.received) == 8
    for body in tiny.received:
        assert body["model"] == "tiny" and body["stream"] is True
        assert (body["temperature"], body["seed"], body["max_tokens"]) == (0, 7, 5)
        assert body["stream_options"] == {"include_usage": True}
    sent = sorted(body["messages"][0]["content"] for body in tiny.received)
    expected = sorted(str(bench.prompt_for(i, j)[0]["content"])
                      for i in range(4) for j in range(2))
    assert sent == expected


def test_a_server_without_streamed_usage_is_counted_from_the_stream(tiny: TinyServer) -> None:
    tiny.send_usage = False
    level = asyncio.run(bench.drive_clients(tiny.base_url, "tiny", 1, 1, max_tokens=64, seed=1))
    # Cut by max_tokens: exactly max_tokens, whatever the chunks were.
    assert (level.completion_tokens, level.token_sources) == (64, {"length": 1})
    tiny.finish_reason = "stop"
    level = asyncio.run(bench.drive_clients(tiny.base_url, "tiny", 1, 1, max_tokens=64, seed=1))
    assert (level.completion_tokens, level.token_sources) == (5, {"chunks": 1})


def test_failing_requests_are_reported_as_errors_not_as_fast_answers(tiny: TinyServer) -> None:
    tiny.fail_every = 2
    level = asyncio.run(bench.drive_clients(tiny.base_url, "tiny", 2, 2, max_tokens=5, seed=1))
    assert (level.requests, level.errors, level.completion_tokens) == (4, 2, 10)
    assert level.first_error is not None and "500" in level.first_error


def test_the_served_model_name_comes_from_the_server(tiny: TinyServer) -> None:
    assert asyncio.run(bench.served_model_id(tiny.base_url)) == "tiny"


# --- server processes -----------------------------------------------------------------------


def test_a_server_that_exits_at_start_is_reported_with_its_output() -> None:
    argv = [sys.executable, "-c", "print('cannot load the model'); raise SystemExit(3)"]
    with pytest.raises(BenchError, match="(?s)code 3.*cannot load the model"):
        with bench.running_server(argv, bench.free_port(), "/healthz"):
            pass


def _fake_model(tmp_path: Path) -> Path:
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"GGUF" + bytes(60))  # passes the magic check; the fake engine never reads it
    return path


def test_hearth_serve_with_the_fake_engine_is_measured_and_then_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = BenchConfig(model_path=_fake_model(tmp_path), threads=1, max_tokens=4,
                         clients=(1, 3), requests_per_client=2, parallel=2,
                         hearth_engine="fake")
    port = bench.free_port()
    env = bench.hearth_env(HEARTH_HOME=str(tmp_path / "home"))
    result = bench.run_server("hearth", "hearth serve", bench.hearth_command(config, port), port,
                              "/healthz", config, log=lambda _: None, env=env)
    assert result.error is None
    assert [(lv.clients, lv.requests, lv.errors) for lv in result.levels] == [(1, 2, 0), (3, 6, 0)]
    assert all(lv.token_sources == {"usage": lv.requests} for lv in result.levels)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz")


def test_bench_engine_prints_tables_and_writes_the_json_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_ENGINE", "fake")
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    out = tmp_path / "results" / "engine.json"
    # No 1-client level, so no direct run: llama-cpp-python would need a real model.
    result = CliRunner().invoke(app, [
        "bench", "engine", "--model", str(_fake_model(tmp_path)), "--threads", "1",
        "--max-tokens", "4", "--clients", "2", "--requests-per-client", "1", "--skip-peer",
        "--case", "load", "--json", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "tok/s" in result.output and "goals" in result.output
    report = json.loads(out.read_text())
    assert report["machine"]["cpu_count"] >= 1
    assert report["model"]["size_bytes"] == 64
    assert report["settings"]["threads"] == 1 and report["settings"]["max_tokens"] == 4
    assert report["settings"]["hearth_engine"] == "fake"
    assert set(report["systems"]) == {"direct", "hearth"}
    assert report["systems"]["hearth"]["levels"][0]["requests"] == 2
    assert report["ratios"] == {"hearth_vs_peer_tps_at_2": None, "hearth_vs_peer_p95_at_2": None}
    assert [goal["met"] for goal in report["goals"]] == [None, None]


def test_client_levels_must_be_positive_numbers() -> None:
    result = CliRunner().invoke(app, ["bench", "engine", "--clients", "1,zero"])
    assert result.exit_code != 0
    assert "not a comma-separated list" in result.output
