"""``hearth bench gateway``: what hearth adds in front of an OpenAI-compatible upstream, with
LiteLLM's proxy measured in the same run as the reference.

Three systems answer the same chat completion request (whole answer, ``max_tokens`` 16):

- ``upstream``: the fake instant upstream (``hearth.bench.fake_upstream``) called directly,
  the floor every gateway adds to;
- ``hearth``: ``hearth serve --engine upstream`` in front of it, memory off, with an API key
  on a plan whose limits are checked (and counted) on every request;
- ``litellm``: LiteLLM's proxy in front of it, master key set.

Load comes from ``wrk`` (a C load generator, Debian package ``wrk``), not a Python client that
would eat the same two cores as the servers. Each system gets a short warm-up, then every
concurrency level for a fixed duration; the systems run one after another so that only the
measured one competes with wrk and the upstream for the CPU.

Then a key on a tight plan is driven past its requests-per-minute limit from several workers
(``quota_under_load``), and ``kill_worker_under_load`` SIGKILLs a hearth worker mid-load and
checks that the server keeps answering and that usage and audit cover every acknowledged
request.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from hearth.bench import gateway_keys
from hearth.bench.engine import (
    BenchError,
    SystemResult,
    free_port,
    hearth_env,
    measured,
    running_server,
)
from hearth.bench.machine import machine_info

Log = Callable[[str], None]

MODEL = "bench-model"  # the name every system serves; the fake upstream accepts any
MAX_TOKENS = 16
REQUEST = {"model": MODEL, "max_tokens": MAX_TOKENS,
           "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
LITELLM_MASTER_KEY = "sk-hearth-bench"
RATIO_GOAL = 10.0  # hearth's requests/s at least this many times LiteLLM's
ADDED_P50_GOAL_MS = 1.0  # what hearth may add to the upstream's p50 at 1 client
WRK_TIMEOUT_S = 60  # a request slower than this counts as a timeout, not a latency
PROBE_REQUESTS = 20  # sent one by one after the kill, to see whether the server still answers

# wrk calls done() once, in its main Lua state; each thread's non-2xx counter is read from
# that thread's own state. Percentiles are in microseconds.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'HEARTH_WRK {{"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, ' ..
    '"non_2xx": %.0f, "socket_errors": %.0f, "timeouts": %.0f}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, e.connect + e.read + e.write, e.timeout))
end
"""


@dataclass(frozen=True)
class GatewayConfig:
    """What stays the same for every system in one run."""

    clients: tuple[int, ...] = (1, 16, 64, 256)
    duration_s: int = 10
    warmup_s: int = 2
    wrk_threads: int = 1  # one is plenty for a few thousand requests/s, and leaves a core
    hearth_workers: int = 2  # one per core here; limits and usage are shared through the database
    litellm: Path | None = None  # the `litellm` command; None: beside this Python, or on PATH
    skip_litellm: bool = False
    kill_test: bool = True
    kill_duration_s: int = 6


@dataclass(frozen=True)
class LevelResult:
    """One system at one concurrency level, as wrk saw it. Latencies cover answered requests;
    ``non_2xx``, ``socket_errors`` and ``timeouts`` say how many were not."""

    clients: int
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int


@dataclass(frozen=True)
class Goal:
    name: str
    target: str
    measured: float | None
    met: bool | None  # None: not measured


# --- wrk ------------------------------------------------------------------------------------


def wrk_command() -> str:
    """The wrk executable; BenchError with the fix when it is not installed."""
    found = shutil.which("wrk")
    if found is None:
        raise BenchError("wrk is not installed: apt-get install wrk (Debian's wrk 4.1.0 is "
                         "what this benchmark was written against).")
    return found


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    return (result.stdout + result.stderr).strip().splitlines()[0]


def parse_wrk(output: str, clients: int) -> LevelResult:
    """The figures that ``WRK_SCRIPT``'s done() printed, from anywhere in wrk's output."""
    for line in output.splitlines():
        if line.startswith("HEARTH_WRK "):
            figures = json.loads(line.removeprefix("HEARTH_WRK "))
            duration = figures["duration_us"] / 1e6
            answered = figures["requests"]
            return LevelResult(
                clients=clients, requests=int(answered), duration_s=round(duration, 3),
                requests_per_s=round(answered / duration, 1) if duration else 0.0,
                p50_ms=round(figures["p50_us"] / 1000, 3),
                p99_ms=round(figures["p99_us"] / 1000, 3),
                non_2xx=int(figures["non_2xx"]), socket_errors=int(figures["socket_errors"]),
                timeouts=int(figures["timeouts"]),
            )
    tail = "\n".join(output.splitlines()[-10:]) or "(no output)"
    raise BenchError(f"wrk printed no results; its output ended with:\n{tail}")


def run_wrk(wrk: str, script: Path, url: str, clients: int, duration_s: int,
            threads: int) -> LevelResult:
    """POST the benchmark request from ``clients`` connections for ``duration_s`` seconds."""
    argv = [wrk, "-t", str(min(threads, clients)), "-c", str(clients), "-d", f"{duration_s}s",
            "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(script), url]
    result = subprocess.run(argv, capture_output=True, text=True,
                            timeout=duration_s + WRK_TIMEOUT_S + 30)
    return parse_wrk(result.stdout + result.stderr, clients)


def write_wrk_script(folder: Path, key: str) -> Path:
    path = folder / f"chat-{abs(hash(key))}.lua"
    path.write_text(WRK_SCRIPT.format(body=json.dumps(REQUEST), key=key))
    return path


def measure_levels(wrk: str, script: Path, base_url: str, config: GatewayConfig,
                   log: Log) -> list[LevelResult]:
    """Warm the system up (first connections, lazy imports), then measure each level."""
    url = f"{base_url}/v1/chat/completions"
    run_wrk(wrk, script, url, min(16, max(config.clients)), config.warmup_s,
            config.wrk_threads)
    levels = []
    for clients in config.clients:
        level = run_wrk(wrk, script, url, clients, config.duration_s, config.wrk_threads)
        log(f"  {clients:>3} client(s): {level.requests_per_s:8.1f} req/s, p50 "
            f"{level.p50_ms:7.2f} ms, p99 {level.p99_ms:7.2f} ms, non-2xx {level.non_2xx}, "
            f"socket errors {level.socket_errors + level.timeouts}")
        levels.append(level)
    return levels


# --- the systems ----------------------------------------------------------------------------


def fake_upstream_command(port: int) -> list[str]:
    return [sys.executable, "-m", "hearth.bench.fake_upstream", "--host", "127.0.0.1",
            "--port", str(port)]


def hearth_executable() -> str:
    return str(Path(sys.executable).with_name("hearth"))


def hearth_command(port: int, workers: int) -> list[str]:
    return [hearth_executable(), "serve", "--engine", "upstream", "--model", MODEL,
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def hearth_server_env(home: Path, upstream_url: str) -> dict[str, str]:
    return hearth_env(HEARTH_HOME=str(home), HEARTH_ENGINE="upstream", HEARTH_MODEL=MODEL,
                      HEARTH_UPSTREAM_URL=f"{upstream_url}/v1", HEARTH_MEMORY="false",
                      HEARTH_DATABASE_URL=f"sqlite:///{home / 'hearth.db'}")


def find_litellm(given: Path | None) -> Path | None:
    """The ``litellm`` command: the one given, else beside this Python, else on PATH."""
    if given is not None:
        return given
    beside = Path(sys.executable).with_name("litellm")
    if beside.exists():
        return beside
    found = shutil.which("litellm")
    return Path(found) if found else None


def litellm_version(litellm: Path) -> str | None:
    """The version of the LiteLLM that ``litellm`` runs (it may live in a venv of its own)."""
    python = litellm.with_name("python")
    result = subprocess.run(
        [str(python if python.exists() else sys.executable), "-c",
         "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True, text=True)
    return result.stdout.strip() or None


def litellm_files(folder: Path, upstream_url: str) -> tuple[Path, Path]:
    """LiteLLM's config (one OpenAI-compatible model at the fake upstream, master key set) and
    a uvicorn log config that turns its per-request access log off, as hearth has none."""
    config = folder / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream_url}/v1\n"
        "      api_key: unused\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_MASTER_KEY}\n"
    )
    log_config = folder / "litellm-log.json"
    log_config.write_text(json.dumps({
        "version": 1, "disable_existing_loggers": False,
        "loggers": {"uvicorn.access": {"level": "WARNING"}}}))
    return config, log_config


def litellm_command(litellm: Path, config: Path, log_config: Path, port: int) -> list[str]:
    return [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--num_workers", "1", "--log_config", str(log_config)]


def litellm_env() -> dict[str, str]:
    # No network here: the bundled cost map, not a download that would time out at start.
    return {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}


def measure_server(name: str, description: str, argv: list[str], port: int, health_path: str,
                   env: dict[str, str], script: Path, wrk: str, config: GatewayConfig,
                   log: Log) -> SystemResult:
    """Start one system, measure it, stop it; a failure to start is recorded, not raised."""
    result = SystemResult(name, description, command=argv)
    try:
        with running_server(argv, port, health_path, env=env, start_timeout_s=120) as base:
            result.levels = measure_levels(wrk, script, base, config, log)
    except (BenchError, subprocess.TimeoutExpired) as exc:
        result.error = getattr(exc, "message", str(exc))
    return result


# --- kill -9 under load ---------------------------------------------------------------------


def worker_pids(server_pid: int) -> list[int]:
    """The processes that serve requests: the server's children when it runs workers (not
    multiprocessing's resource tracker, which serves none), else the server itself."""
    workers = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rpartition(")")[2].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                tracker = b"resource_tracker" in f.read()
        except OSError:
            continue
        if parent == server_pid and not tracker:
            workers.append(int(entry))
    return workers or [server_pid]


def quota_under_load(wrk: str, folder: Path, upstream_url: str, config: GatewayConfig,
                     log: Log) -> dict[str, Any]:
    """Drive a key on a tight plan (``TIGHT_REQUESTS_PER_MINUTE``) from 64 connections across
    2 workers for a few seconds inside one minute, and count what it got answered."""
    port = free_port()
    home = folder / "quota-home"
    home.mkdir()
    env = hearth_server_env(home, upstream_url)
    keys = gateway_keys.provision(env["HEARTH_DATABASE_URL"])
    script = write_wrk_script(folder, keys.tight)
    with running_server(hearth_command(port, 2), port, "/healthz", env=env,
                        start_timeout_s=120) as base:
        if gateway_keys.seconds_into_minute() > 60 - config.kill_duration_s - 5:
            gateway_keys.wait_for_minute_start()
        level = run_wrk(wrk, script, f"{base}/v1/chat/completions", 64,
                        config.kill_duration_s, config.wrk_threads)
    answered = level.requests - level.non_2xx
    log(f"  tight key ({gateway_keys.TIGHT_REQUESTS_PER_MINUTE}/min): {level.requests} "
        f"requests, {answered} answered, {level.non_2xx} refused")
    return {"limit_per_minute": gateway_keys.TIGHT_REQUESTS_PER_MINUTE, "workers": 2,
            "load": asdict(level), "answered": answered,
            "within_quota": answered <= gateway_keys.TIGHT_REQUESTS_PER_MINUTE}


def kill_worker_under_load(wrk: str, folder: Path, upstream_url: str, config: GatewayConfig,
                           log: Log) -> dict[str, Any]:
    """Load hearth (2 workers) with a key, SIGKILL one worker halfway through, then check
    that the server still answers and that every acknowledged request has its usage record
    and the audit chain is intact.

    What the killed worker had in flight fails; the point is that the rest of the server goes
    on and nothing answered goes unrecorded.
    """
    port = free_port()
    home = folder / "kill-home"
    home.mkdir()
    env = hearth_server_env(home, upstream_url)
    key = gateway_keys.provision(env["HEARTH_DATABASE_URL"]).measured
    script = write_wrk_script(folder, key)
    with running_server(hearth_command(port, 2), port, "/healthz", env=env,
                        start_timeout_s=120) as base:
        server_pid = _server_pid(port)
        url = f"{base}/v1/chat/completions"
        load = subprocess.Popen(
            [wrk, "-t", "1", "-c", "16", "-d", f"{config.kill_duration_s}s", "--timeout",
             "5s", "-s", str(script), url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(config.kill_duration_s / 2)
        victim = worker_pids(server_pid)[0] if server_pid else None
        if victim:
            os.kill(victim, signal.SIGKILL)
            log(f"  killed worker pid {victim} of 2 mid-load")
        output, _ = load.communicate(timeout=config.kill_duration_s + 60)
        answered = _probe(url, key)
    level = parse_wrk(output, 16)
    records = gateway_keys.usage_and_audit(
        env["HEARTH_DATABASE_URL"], level.requests - level.non_2xx + answered)
    log(f"  {records['acknowledged']} acknowledged, {records['metered_200']} metered, audit "
        f"{'intact' if records['audit_intact'] else 'BROKEN'}")
    return {"workers": 2, "killed_pid": victim, "load": asdict(level),
            "probe_requests": PROBE_REQUESTS, "probe_answered": answered,
            "keeps_answering": answered == PROBE_REQUESTS,
            "usage_and_audit": records,
            "usage_and_audit_consistent": records["consistent"]}


def _server_pid(port: int) -> int | None:
    """The pid of the server this process started with ``--port port``."""
    wanted = f"\0--port\0{port}\0".encode()
    for pid in worker_pids(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if wanted in b"\0" + f.read():
                    return pid
        except OSError:
            continue
    return None


def _probe(url: str, key: str) -> int:
    """How many of ``PROBE_REQUESTS`` sequential requests the server answers with a 2xx."""
    answered = 0
    with httpx.Client(timeout=5.0, headers={"authorization": f"Bearer {key}"}) as http:
        for _ in range(PROBE_REQUESTS):
            try:
                answered += http.post(url, json=REQUEST).is_success
            except httpx.TransportError:
                pass
    return answered


# --- the whole run --------------------------------------------------------------------------


def added_latency(systems: dict[str, SystemResult], name: str,
                  clients: int) -> dict[str, float | None]:
    """What a gateway adds to the upstream's own p50 and p99 at the same concurrency."""
    level, base = systems[name].level(clients), systems["upstream"].level(clients)
    if level is None or base is None:
        return {"p50_ms": None, "p99_ms": None}
    return {"p50_ms": round(level.p50_ms - base.p50_ms, 3),
            "p99_ms": round(level.p99_ms - base.p99_ms, 3)}


def compare(systems: dict[str, SystemResult], clients: tuple[int, ...],
            quota: dict[str, Any] | None, kill: dict[str, Any] | None,
            ) -> tuple[dict[str, Any], dict[str, Any], list[Goal]]:
    """Added latency per gateway and level, hearth/LiteLLM requests/s ratios, and the goals.

    A level where hearth refused or lost any request meets no goal: latency covers answered
    requests only, so a server could otherwise look fast by failing.
    """
    added = {name: {str(n): added_latency(systems, name, n) for n in clients}
             for name in ("hearth", "litellm") if name in systems}
    ratios: dict[str, float | None] = {}
    goals: list[Goal] = []
    for n in clients:
        ours, theirs = systems["hearth"].level(n), systems["litellm"].level(n)
        ratio = (round(ours.requests_per_s / theirs.requests_per_s, 2)
                 if ours and theirs and theirs.requests_per_s else None)
        ratios[f"hearth_vs_litellm_rps_at_{n}"] = ratio
        goals.append(Goal(f"{n} client(s): requests/s >= {RATIO_GOAL:g}x LiteLLM",
                          f">= {RATIO_GOAL:g}", ratio,
                          None if ratio is None else ratio >= RATIO_GOAL and _clean(ours)))
    if 1 in clients:
        p50 = added["hearth"]["1"]["p50_ms"]
        goals.append(Goal("1 client: hearth adds < 1 ms at p50", f"< {ADDED_P50_GOAL_MS:g} ms",
                          p50, None if p50 is None else
                          p50 < ADDED_P50_GOAL_MS and _clean(systems["hearth"].level(1))))
    if quota is not None:
        goals.append(Goal("a key on a tight plan gets no more than its quota under load",
                          f"<= {quota['limit_per_minute']} answered in one minute",
                          quota["answered"], quota["within_quota"]))
    if kill is not None:
        goals.append(Goal("kill -9 of a worker mid-load: the server keeps answering",
                          f"{PROBE_REQUESTS}/{PROBE_REQUESTS} probes answered",
                          kill["probe_answered"], kill["keeps_answering"]))
        goals.append(Goal("kill -9 of a worker mid-load: usage and audit cover every "
                          "acknowledged request", "every 2xx metered, chain intact",
                          kill["usage_and_audit"]["metered_200"],
                          kill["usage_and_audit_consistent"]))
    return added, ratios, goals


def _clean(level: LevelResult | None) -> bool:
    return level is not None and not (level.non_2xx or level.socket_errors or level.timeouts)


def run_all(config: GatewayConfig, log: Log = lambda _: None) -> dict[str, Any]:
    """Start the fake upstream, measure it, hearth and LiteLLM in front of it one after
    another, then the kill test; return the whole report."""
    wrk = wrk_command()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    systems: dict[str, SystemResult] = {}

    def measure(name: str, run: Callable[[], SystemResult]) -> None:
        systems[name] = measured(name, run, log)

    litellm = None if config.skip_litellm else find_litellm(config.litellm)
    quota = kill = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        up_port = free_port()
        up_argv = fake_upstream_command(up_port)
        with running_server(up_argv, up_port, "/v1/models", start_timeout_s=60) as upstream:
            home = folder / "hearth-home"
            home.mkdir()
            env = hearth_server_env(home, upstream)
            key = gateway_keys.provision(env["HEARTH_DATABASE_URL"]).measured
            hearth_script = write_wrk_script(folder, key)

            def upstream_alone() -> SystemResult:
                result = SystemResult("upstream", "the fake upstream, called directly",
                                      command=up_argv)
                result.levels = measure_levels(wrk, hearth_script, upstream, config, log)
                return result

            measure("upstream", upstream_alone)
            port = free_port()
            measure("hearth", lambda: measure_server(
                "hearth", "hearth serve --engine upstream", hearth_command(
                    port, config.hearth_workers), port, "/healthz", env, hearth_script, wrk,
                config, log))
            if litellm is not None:
                port = free_port()
                litellm_config, log_config = litellm_files(folder, upstream)
                measure("litellm", lambda: measure_server(
                    "litellm", "LiteLLM's proxy", litellm_command(
                        litellm, litellm_config, log_config, port), port, "/health/liveliness",
                    litellm_env(), write_wrk_script(folder, LITELLM_MASTER_KEY), wrk, config,
                    log))
            else:
                systems["litellm"] = SystemResult("litellm", "LiteLLM's proxy", error=(
                    "skipped (--skip-litellm)" if config.skip_litellm else
                    "LiteLLM's proxy is not installed: pip install 'openhearth[gateway]', or "
                    "into a venv of its own and pass --litellm PATH/TO/litellm."))
            if config.kill_test:
                log("a key on a tight plan under load")
                quota = quota_under_load(wrk, folder, upstream, config, log)
                log("kill -9 of a hearth worker under load")
                kill = kill_worker_under_load(wrk, folder, upstream, config, log)
    added, ratios, goals = compare(systems, config.clients, quota, kill)
    return {
        "benchmark": "gateway",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 1),
        "machine": {**machine_info(("httptools", "fastapi", "uvicorn", "pydantic")),
                    "wrk": wrk_version(wrk),
                    "litellm": litellm_version(litellm) if litellm else None},
        "settings": {
            "clients": list(config.clients), "duration_s": config.duration_s,
            "warmup_s": config.warmup_s, "wrk_threads": config.wrk_threads,
            "wrk_timeout_s": WRK_TIMEOUT_S, "request": REQUEST,
            "hearth_workers": config.hearth_workers,
            "keys": True,
            "plan_limits": gateway_keys.BENCH_LIMITS.model_dump(),
        },
        "systems": {name: asdict(system) for name, system in systems.items()},
        "added_ms": added,
        "ratios": ratios,
        "goals": [asdict(goal) for goal in goals],
        "quota_test": quota,
        "kill_test": kill,
    }
