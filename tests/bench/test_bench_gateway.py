"""`hearth bench gateway`: wrk's figures are read correctly, compared fairly, and a short real
run (when wrk is installed) measures hearth in front of the fake upstream and reports it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hearth.bench import gateway, gateway_keys
from hearth.bench.gateway import LevelResult, SystemResult
from hearth.cli.main import app
from hearth.store.db import Database

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:9000/v1/chat/completions
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.44ms    1.20ms  20.00ms   80.00%
  33377 requests in 10.00s, 14.40MB read
Requests/sec:   3337.70
HEARTH_WRK {"requests": 33377, "duration_us": 10000000, "p50_us": 3440, "p99_us": 14000, \
"non_2xx": 2, "socket_errors": 1, "timeouts": 0}
"""


def level(clients: int, rps: float, p50: float, p99: float, failed: int = 0) -> LevelResult:
    return LevelResult(clients, int(rps * 10), 10.0, rps, p50, p99, failed, 0, 0)


def test_wrk_figures_are_read_from_the_line_the_lua_script_prints() -> None:
    result = gateway.parse_wrk(WRK_OUTPUT, clients=16)
    assert result == LevelResult(clients=16, requests=33377, duration_s=10.0,
                                 requests_per_s=3337.7, p50_ms=3.44, p99_ms=14.0, non_2xx=2,
                                 socket_errors=1, timeouts=0)


def test_wrk_output_without_figures_is_an_error_that_quotes_it() -> None:
    with pytest.raises(gateway.BenchError, match="unable to connect"):
        gateway.parse_wrk("unable to connect to 127.0.0.1:9 Connection refused", clients=1)


def test_the_lua_script_sends_the_request_and_key_and_reports_percentiles(tmp_path: Path) -> None:
    script = gateway.write_wrk_script(tmp_path, "sk-secret").read_text()
    assert json.dumps(gateway.REQUEST) in script
    assert 'wrk.headers["Authorization"] = "Bearer sk-secret"' in script
    assert "latency:percentile(50)" in script and "latency:percentile(99)" in script


def test_added_latency_and_ratios_are_against_the_same_concurrency() -> None:
    systems = {
        "upstream": SystemResult("upstream", "", levels=[level(1, 4000, 0.2, 0.5),
                                                         level(16, 8000, 2.0, 4.0)]),
        "hearth": SystemResult("hearth", "", levels=[level(1, 1000, 0.9, 1.5),
                                                     level(16, 1500, 10.0, 20.0, failed=1)]),
        "litellm": SystemResult("litellm", "", levels=[level(1, 90, 11.0, 15.0),
                                                       level(16, 100, 150.0, 300.0)]),
    }
    quota = {"limit_per_minute": 1000, "answered": 1000, "within_quota": True}
    added, ratios, goals = gateway.compare(systems, (1, 16), quota=quota, kill=None)
    assert added["hearth"]["1"] == {"p50_ms": 0.7, "p99_ms": 1.0}
    assert added["litellm"]["16"] == {"p50_ms": 148.0, "p99_ms": 296.0}
    assert ratios == {"hearth_vs_litellm_rps_at_1": 11.11, "hearth_vs_litellm_rps_at_16": 15.0}
    met = {goal.name: goal.met for goal in goals}
    assert met["1 client(s): requests/s >= 10x LiteLLM"] is True
    # Fast enough, but it failed a request at that level: not met.
    assert met["16 client(s): requests/s >= 10x LiteLLM"] is False
    assert met["1 client: hearth adds < 1 ms at p50"] is True
    assert met["a key on a tight plan gets no more than its quota under load"] is True


def test_the_bench_keys_work_and_usage_and_audit_are_checked(tmp_path: Path) -> None:
    from hearth.governance import gate

    url = f"sqlite:///{tmp_path / 'h.db'}"
    keys = gateway_keys.provision(url)
    db = Database(url)
    admitted = gate.admit(db, keys.measured, scope="chat", generates=True)
    assert admitted.principal.plan == "bench" and admitted.lease_id is not None
    assert gate.admit(db, keys.tight, scope="chat").principal.plan == "bench-tight"
    gate.settle(db, admitted, gate.Cost(model="m", route="chat", status=200, duration_ms=1))
    db.dispose()

    assert gateway_keys.usage_and_audit(url, acknowledged=1)["consistent"] is True
    checked = gateway_keys.usage_and_audit(url, acknowledged=2)  # one answer went unmetered
    assert checked["metered_200"] == 1 and checked["consistent"] is False


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_a_short_run_measures_hearth_in_front_of_the_upstream_and_writes_the_report(
    tmp_path: Path,
) -> None:
    out = tmp_path / "gateway.json"
    result = CliRunner().invoke(app, [
        "bench", "gateway", "--clients", "2", "--duration", "1", "--warmup", "1",
        "--skip-litellm", "--kill-duration", "2", "--json", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "req/s" in result.output and "goals" in result.output
    report = json.loads(out.read_text())
    assert report["settings"]["keys"] is True
    for name in ("upstream", "hearth"):
        system = report["systems"][name]
        assert system["error"] is None
        [only] = system["levels"]
        assert only["clients"] == 2 and only["requests"] > 0
        assert only["non_2xx"] == 0 and only["socket_errors"] == 0
    assert report["systems"]["litellm"]["error"] == "skipped (--skip-litellm)"
    assert report["added_ms"]["hearth"]["2"]["p50_ms"] is not None
    kill = report["kill_test"]
    assert kill["killed_pid"] is not None and kill["load"]["requests"] > 0
    assert kill["workers"] == 2 and kill["keeps_answering"] is True
    assert kill["usage_and_audit_consistent"] is True
    quota = report["quota_test"]
    assert quota["answered"] <= quota["limit_per_minute"] and quota["within_quota"] is True
