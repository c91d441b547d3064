"""``hearth bench engine``: hearth's server against llama-cpp-python, in one run, as ratios.

Three systems run the same GGUF with the same thread count, prompts, ``max_tokens``,
temperature 0 and seed:

- ``direct``: llama-cpp-python called in-process, one request at a time. No HTTP, no queue:
  the ceiling a server can approach at one client.
- ``peer``: llama-cpp-python's own OpenAI-compatible server (``python -m llama_cpp.server``),
  the reference an operator would otherwise deploy.
- ``hearth``: ``hearth serve``.

Both servers are driven through the ``openai`` SDK, as a user would, and run one at a time so
they never compete for the CPU. Absolute numbers depend on the machine; the goals are stated as
ratios against references measured in the same run, so they mean the same thing anywhere.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from hearth.bench.machine import machine_info
from hearth.errors import HearthError

TokenSource = Literal["usage", "length", "chunks"]
Log = Callable[[str], None]
Messages = list[ChatCompletionMessageParam]  # plain dicts at run time, as llama-cpp-python takes

# Coding questions, because the default model is a coder, each with an answer far longer than
# the default 64 tokens, so every system does the same amount of work per request.
PROMPTS: tuple[str, ...] = (
    "Write a Python function that checks whether a string is a palindrome, ignoring case and "
    "punctuation. Include a docstring and two usage examples.",
    "Explain, with a short code example, the difference between a list and a tuple in Python.",
    "Write a SQL query that returns the ten customers with the highest total order value, "
    "then explain each clause.",
    "Write a bash script that counts the lines of every .py file under a folder and prints "
    "the total.",
)
# A prompt of its own, so that warming up does not put a measured prompt in a prefix cache.
WARMUP_PROMPT = "Say hello in one short sentence."
WARMUP_MAX_TOKENS = 8

DIRECT_GOAL_RATIO = 0.95  # hearth at 1 client keeps at least this share of direct decode speed
DIRECT_TTFT_GOAL_RATIO = 1.1  # and its first token comes at most this much later than direct's
CONTEXT_LENGTH = 4096
SERVER_START_TIMEOUT_S = 300.0
SERVER_STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 900.0  # a request queued behind 15 others on 2 cores can take minutes


class BenchError(HearthError):
    """A system under test could not be started or did not answer; the message says which."""


@dataclass(frozen=True)
class BenchConfig:
    """What stays the same for every system in one run."""

    model_path: Path
    threads: int
    max_tokens: int = 64
    clients: tuple[int, ...] = (1, 4, 16)
    requests_per_client: int = 3
    parallel: int = 4  # hearth's --parallel; the peer has no equivalent (it serves one at a time)
    seed: int = 1234
    skip_peer: bool = False
    hearth_engine: str = "llamacpp"  # "fake" only in tests: its numbers say nothing about speed


@dataclass(frozen=True)
class RequestSample:
    """One timed request. ``ttft_s`` is None when no content arrived; ``error`` when it failed."""

    latency_s: float
    ttft_s: float | None
    completion_tokens: int
    token_source: TokenSource
    error: str | None = None


@dataclass(frozen=True)
class LevelResult:
    """One system at one concurrency level: throughput, decode speed and latency percentiles.

    ``total_tps`` is all completion tokens over the wall time of the level. ``decode_tps`` is
    the median over requests of tokens after the first over the time after the first: prompt
    processing does not blur how fast tokens come once they flow, and the median keeps one
    request slowed by a busy neighbour process from deciding a 1-client comparison.
    """

    clients: int
    requests: int
    errors: int
    completion_tokens: int
    wall_s: float
    total_tps: float
    decode_tps: float | None
    ttft_p50_s: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    token_sources: dict[str, int]
    first_error: str | None = None


class _AtConcurrency(Protocol):
    clients: int


Level = TypeVar("Level", bound=_AtConcurrency)


@dataclass
class SystemResult(Generic[Level]):
    """Everything measured for one system; ``error`` is set when it could not be measured.
    The benchmarks differ in what they measure at each level (``Level``)."""

    name: str
    description: str
    command: list[str] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    error: str | None = None
    others_cpu_share: float | None = None  # of the machine, used by other processes meanwhile

    def level(self, clients: int) -> Level | None:
        return next((lv for lv in self.levels if lv.clients == clients), None)


@dataclass(frozen=True)
class Goal:
    """One of the issue's goals, with the ratio that decides it; ``met`` is None if unmeasured."""

    name: str
    ratio: str
    target: str
    measured: float | None
    met: bool | None


# --- numbers --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between ranks, as numpy's default,
    so that p95 of few samples still moves smoothly rather than jumping to the maximum."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def count_completion_tokens(
    usage_tokens: int | None, finish_reason: str | None, chunks: int, max_tokens: int
) -> tuple[int, TokenSource]:
    """How many tokens a streamed answer had, and how that was known.

    The server's ``usage`` is the truth when it sends one. llama-cpp-python sends none when
    streaming (its server ignores ``stream_options``), so: an answer cut by ``max_tokens`` had
    exactly ``max_tokens``; otherwise count content chunks, one per token there except where it
    holds back text that might begin a stop string, which can only undercount.
    """
    if usage_tokens is not None:
        return usage_tokens, "usage"
    if finish_reason == "length":
        return max_tokens, "length"
    return chunks, "chunks"


def summarise(clients: int, samples: Sequence[RequestSample], wall_s: float) -> LevelResult:
    """Fold one level's requests into throughput and percentiles; failed requests are counted,
    not timed, so a server that errors fast cannot look fast."""
    ok = [s for s in samples if s.error is None]
    failed = [s for s in samples if s.error is not None]
    tokens = sum(s.completion_tokens for s in ok)
    decode_rates = [(s.completion_tokens - 1) / (s.latency_s - s.ttft_s) for s in ok
                    if s.ttft_s is not None and s.completion_tokens > 1 and s.latency_s > s.ttft_s]
    sources: dict[str, int] = {}
    for s in ok:
        sources[s.token_source] = sources.get(s.token_source, 0) + 1
    return LevelResult(
        clients=clients,
        requests=len(samples),
        errors=len(failed),
        completion_tokens=tokens,
        wall_s=wall_s,
        total_tps=tokens / wall_s if wall_s > 0 else 0.0,
        decode_tps=percentile(decode_rates, 50),
        ttft_p50_s=percentile([s.ttft_s for s in ok if s.ttft_s is not None], 50),
        latency_p50_s=percentile([s.latency_s for s in ok], 50),
        latency_p95_s=percentile([s.latency_s for s in ok], 95),
        token_sources=sources,
        first_error=failed[0].error if failed else None,
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def compare(systems: dict[str, SystemResult],
            clients: Sequence[int]) -> tuple[dict[str, float | None], list[Goal]]:
    """The ratios the issue's goals are stated in, and whether each goal was met.

    hearth at 1 client against direct decode speed; at every level above one client, hearth's
    throughput and p95 latency against the peer's (a p95 ratio below 1 means hearth is faster).
    A ratio is None where either side was not measured. A goal is not met at a level where
    hearth failed any request: its p95 leaves failures out, so it could otherwise win by failing.
    """

    def ratio(system: str, versus: str, n: int, metric: str) -> float | None:
        return _ratio(_metric(systems.get(system), n, metric),
                      _metric(systems.get(versus), n, metric))

    def goal(name: str, key: str, target: str, n: int, test: Callable[[float], bool]) -> Goal:
        measured = ratios[key]
        met = None if measured is None else (
            test(measured) and not _metric(systems.get("hearth"), n, "errors"))
        return Goal(name, key, target, measured, met)

    ratios: dict[str, float | None] = {}
    goals: list[Goal] = []
    if 1 in clients:
        key = "hearth_vs_direct_1client_tps"
        ratios[key] = ratio("hearth", "direct", 1, "decode_tps")
        goals.append(goal(f"1 client: decode >= {DIRECT_GOAL_RATIO}x direct", key,
                          f">= {DIRECT_GOAL_RATIO}", 1, lambda r: r >= DIRECT_GOAL_RATIO))
        key = "hearth_vs_direct_1client_ttft"
        ratios[key] = ratio("hearth", "direct", 1, "ttft_p50_s")
        goals.append(goal(f"1 client: TTFT <= {DIRECT_TTFT_GOAL_RATIO}x direct", key,
                          f"<= {DIRECT_TTFT_GOAL_RATIO}", 1,
                          lambda r: r <= DIRECT_TTFT_GOAL_RATIO))
    for n in (n for n in clients if n > 1):
        tps_key, p95_key = f"hearth_vs_peer_tps_at_{n}", f"hearth_vs_peer_p95_at_{n}"
        ratios[tps_key] = ratio("hearth", "peer", n, "total_tps")
        ratios[p95_key] = ratio("hearth", "peer", n, "latency_p95_s")
        goals.append(goal(f"{n} clients: tok/s >= peer", tps_key, ">= 1.0", n,
                          lambda r: r >= 1.0))
        goals.append(goal(f"{n} clients: p95 < peer", p95_key, "< 1.0", n, lambda r: r < 1.0))
    return ratios, goals


def _metric(system: SystemResult | None, clients: int, name: str) -> float | None:
    level = system.level(clients) if system else None
    return getattr(level, name) if level else None


# --- driving an OpenAI-compatible server ----------------------------------------------------


def prompt_for(client: int, request: int) -> Messages:
    """The messages of a client's n-th request: rotated so that every level mixes all prompts,
    and identical for every system."""
    return [{"role": "user", "content": PROMPTS[(client + request) % len(PROMPTS)]}]


async def timed_chat(client: openai.AsyncOpenAI, model: str, messages: Messages,
                     max_tokens: int, seed: int) -> RequestSample:
    """Stream one chat completion and time it: TTFT at the first content chunk, latency at the
    end of the stream. An API error becomes a failed sample rather than ending the level."""
    start = time.perf_counter()
    ttft: float | None = None
    chunks = 0
    usage_tokens: int | None = None
    finish: str | None = None
    try:
        stream = await client.chat.completions.create(
            model=model, messages=messages, max_tokens=max_tokens,
            temperature=0, seed=seed, stream=True, stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.usage is not None:
                usage_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices:
                if choice.delta.content:
                    if ttft is None:
                        ttft = time.perf_counter() - start
                    chunks += 1
                finish = choice.finish_reason or finish
    except openai.OpenAIError as exc:
        return RequestSample(time.perf_counter() - start, ttft, 0, "chunks", error=repr(exc))
    tokens, source = count_completion_tokens(usage_tokens, finish, chunks, max_tokens)
    return RequestSample(time.perf_counter() - start, ttft, tokens, source)


def openai_client(base_url: str) -> openai.AsyncOpenAI:
    # No retries: a retried request would hide an overloaded server and distort latency.
    return openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0,
                              timeout=REQUEST_TIMEOUT_S)


async def drive_clients(base_url: str, model: str, clients: int, requests_per_client: int,
                        max_tokens: int, seed: int) -> LevelResult:
    """Run ``clients`` concurrent clients, each sending its requests back to back, and
    summarise them; wall time runs from the first request sent to the last answer ended."""
    async with openai_client(base_url) as client:

        async def one_client(i: int) -> list[RequestSample]:
            return [await timed_chat(client, model, prompt_for(i, j), max_tokens, seed)
                    for j in range(requests_per_client)]

        start = time.perf_counter()
        per_client = await asyncio.gather(*(one_client(i) for i in range(clients)))
        wall = time.perf_counter() - start
    return summarise(clients, [s for samples in per_client for s in samples], wall)


async def served_model_id(base_url: str) -> str:
    """The model name the server answers to, from its own ``/v1/models``."""
    async with openai_client(base_url) as client:
        models = await client.models.list()
    if not models.data:
        raise BenchError(f"{base_url}/v1/models lists no model; the server did not load one.")
    return models.data[0].id


async def warm_up(base_url: str, model: str, seed: int) -> None:
    """One short request before measuring, so that first-call costs (allocations, page-ins of
    the weights) are paid outside the timed levels."""
    async with openai_client(base_url) as client:
        sample = await timed_chat(client, model, [{"role": "user", "content": WARMUP_PROMPT}],
                                  WARMUP_MAX_TOKENS, seed)
    if sample.error:
        raise BenchError(f"The warm-up request to {base_url} failed: {sample.error}")


async def measure_server(base_url: str, config: BenchConfig, log: Log) -> list[LevelResult]:
    """Warm the server up, then run every concurrency level of the config in order."""
    model = await served_model_id(base_url)
    await warm_up(base_url, model, config.seed)
    levels = []
    for n in config.clients:
        log(f"  {n} client(s) x {config.requests_per_client} request(s)")
        levels.append(await drive_clients(base_url, model, n, config.requests_per_client,
                                          config.max_tokens, config.seed))
    return levels


# --- server processes -----------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it), for one server start."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hearth_command(config: BenchConfig, port: int) -> list[str]:
    """``hearth serve`` as a user would start it, from the same environment as this process."""
    hearth = Path(sys.executable).with_name("hearth")
    return [str(hearth), "serve", "--model", str(config.model_path), "--host", "127.0.0.1",
            "--port", str(port), "--threads", str(config.threads),
            "--parallel", str(config.parallel), "--engine", config.hearth_engine]


def peer_command(config: BenchConfig, port: int) -> list[str]:
    """llama-cpp-python's server with the same model, threads and context as the others.

    ``--interrupt_requests False`` because by default it cuts a streaming answer short as soon
    as another request waits, which would make it look fast under concurrency while doing less.
    ``--n_threads_batch`` is pinned too, or prompt processing would use every core.
    """
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(config.model_path),
            "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(config.threads),
            "--n_threads_batch", str(config.threads), "--n_ctx", str(CONTEXT_LENGTH),
            "--interrupt_requests", "False"]


def hearth_env(**extra: str) -> dict[str, str]:
    """This process's environment for ``hearth serve``, minus the settings that would make it
    refuse or throttle the benchmark's clients (an API key, a per-client rate limit)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HEARTH_API_KEY", "HEARTH_RATE_LIMIT_PER_MINUTE")}
    env.update(extra)
    return env


@contextmanager
def running_server(argv: list[str], port: int, health_path: str, *,
                   env: dict[str, str] | None = None,
                   start_timeout_s: float = SERVER_START_TIMEOUT_S) -> Iterator[str]:
    """Start a server process, yield its base URL once ``health_path`` answers 200, and always
    stop it: SIGTERM, then SIGKILL if it has not exited within ``SERVER_STOP_TIMEOUT_S``.

    Its output goes to a temporary file rather than a pipe (a full pipe would stall it); the
    last lines are quoted in the error if it exits or never becomes healthy.
    """
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log_file:
        proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        try:
            _wait_healthy(proc, base_url + health_path, start_timeout_s, log_file)
            yield base_url
        finally:
            _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, timeout_s: float,
                  log_file: Any) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"The server exited with code {proc.returncode} before "
                                 f"{url} answered. Its output ended with:\n{_tail(log_file)}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.25)
    raise BenchError(f"{url} did not answer 200 within {timeout_s:.0f} s. "
                     f"The server's output ended with:\n{_tail(log_file)}")


def _tail(log_file: Any, lines: int = 15) -> str:
    log_file.flush()
    log_file.seek(0)
    return "\n".join(log_file.read().splitlines()[-lines:]) or "(no output)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the three systems ----------------------------------------------------------------------


def run_direct(config: BenchConfig, log: Log) -> SystemResult:
    """llama-cpp-python in-process at one client: the reference for hearth's single-client
    speed. Sequential only, since a ``Llama`` object decodes one sequence at a time."""
    result = SystemResult("direct", "llama-cpp-python in-process (Llama.create_chat_completion)",
                          command=[f"Llama(n_threads={config.threads}, "
                                   f"n_threads_batch={config.threads}, n_ctx={CONTEXT_LENGTH})"])
    if 1 not in config.clients:
        return result
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        result.error = (f"llama-cpp-python is not installed ({exc}): "
                        "pip install 'openhearth[bench]'.")
        return result
    try:
        llm = Llama(model_path=str(config.model_path), n_threads=config.threads,
                    n_threads_batch=config.threads, n_ctx=CONTEXT_LENGTH, seed=config.seed,
                    verbose=False)
    except (ValueError, RuntimeError) as exc:  # what llama-cpp-python raises for a bad file
        result.error = f"llama-cpp-python could not load {config.model_path}: {exc}"
        return result
    try:
        _direct_chat(llm, [{"role": "user", "content": WARMUP_PROMPT}], WARMUP_MAX_TOKENS,
                     config.seed)
        log(f"  1 client x {config.requests_per_client} request(s)")
        start = time.perf_counter()
        samples = [_direct_chat(llm, prompt_for(0, j), config.max_tokens, config.seed)
                   for j in range(config.requests_per_client)]
        result.levels.append(summarise(1, samples, time.perf_counter() - start))
    finally:
        llm.close()  # frees the weights before a server loads its own copy
    return result


def _direct_chat(llm: Any, messages: Messages, max_tokens: int,
                 seed: int) -> RequestSample:
    start = time.perf_counter()
    ttft: float | None = None
    chunks = 0
    finish: str | None = None
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                            temperature=0.0, seed=seed, stream=True):
        choice = chunk["choices"][0]
        if choice["delta"].get("content"):
            if ttft is None:
                ttft = time.perf_counter() - start
            chunks += 1
        finish = choice.get("finish_reason") or finish
    tokens, source = count_completion_tokens(None, finish, chunks, max_tokens)
    return RequestSample(time.perf_counter() - start, ttft, tokens, source)


def run_server(name: str, description: str, argv: list[str], port: int, health_path: str,
               config: BenchConfig, log: Log, env: dict[str, str] | None = None) -> SystemResult:
    """Start one server, measure every level against it, stop it. A server that cannot start
    or answer is recorded as an error so that the other systems' numbers are still reported."""
    result = SystemResult(name, description, command=argv)
    try:
        with running_server(argv, port, health_path, env=env) as base_url:
            result.levels = asyncio.run(measure_server(base_url, config, log))
    except BenchError as exc:
        result.error = exc.message
    return result


def measured(name: str, run: Callable[[], SystemResult], log: Log) -> SystemResult:
    """``run()``'s result, with the share of the CPUs other processes used meanwhile."""
    log(name)
    before = cpu_snapshot()
    result = run()
    result.others_cpu_share = share = others_cpu_share(before, cpu_snapshot())
    if share is not None:
        log(f"  other processes used {share:.0%} of the CPUs meanwhile")
    return result


def run_all(config: BenchConfig, log: Log = lambda _: None, load: bool = True) -> dict[str, Any]:
    """Measure direct, then the peer (unless skipped), then hearth, one after another, and
    return the whole report: machine, settings, per-system levels, ratios and goals. Without
    ``load``, only the report's frame, for a run of other cases alone."""
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    systems: dict[str, SystemResult] = {}

    def measure(name: str, run: Callable[[], SystemResult]) -> None:
        systems[name] = measured(name, run, log)

    if load:
        measure("direct", lambda: run_direct(config, log))
        if not config.skip_peer:
            port = free_port()
            measure("peer", lambda: run_server(
                "peer", "llama-cpp-python's server (llama_cpp.server)",
                peer_command(config, port), port, "/v1/models", config, log))
        port = free_port()
        measure("hearth", lambda: run_server(
            "hearth", "hearth serve", hearth_command(config, port), port, "/healthz", config,
            log, env=hearth_env()))
    ratios, goals = compare(systems, config.clients) if load else ({}, [])
    return {
        "benchmark": "engine",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 1),
        "machine": machine_info(("llama-cpp-python", "openai")),
        "model": {"path": str(config.model_path), "size_bytes": config.model_path.stat().st_size},
        "settings": {
            "threads": config.threads, "max_tokens": config.max_tokens,
            "clients": list(config.clients), "requests_per_client": config.requests_per_client,
            "hearth_parallel": config.parallel, "hearth_engine": config.hearth_engine,
            "temperature": 0, "seed": config.seed,
            "context_length": CONTEXT_LENGTH, "prompts": list(PROMPTS),
        },
        "systems": {name: asdict(system) for name, system in systems.items()},
        "ratios": ratios,
        "goals": [asdict(goal) for goal in goals],
    }


@dataclass(frozen=True)
class CpuSnapshot:
    """Busy CPU seconds of the whole machine and of this process with its reaped children."""

    machine_busy_s: float
    ours_s: float
    at: float


def cpu_snapshot() -> CpuSnapshot | None:
    """Read the machine's CPU counters (Linux ``/proc/stat``; None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(fields) < 8:
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy, steal
    # included, since a hypervisor neighbour takes the CPU as surely as a local process.
    busy = sum(fields) - fields[3] - fields[4]
    import resource  # Unix only, and only reached where /proc/stat exists

    ours = _live_descendants_cpu_s()
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        ours += usage.ru_utime + usage.ru_stime
    return CpuSnapshot(busy / os.sysconf("SC_CLK_TCK"), ours, time.monotonic())


def _live_descendants_cpu_s() -> float:
    """CPU seconds used so far by this process's descendants that are still running (and by
    the children they reaped). ``RUSAGE_CHILDREN`` counts a child only once it is reaped, so
    without this a server that runs through several measurements would count as another
    process's load."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        # After the name: state, ppid, …; utime, stime, cutime, cstime are fields 11-14.
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(x) for x in fields[11:15])
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += ticks[pid]
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def others_cpu_share(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """The share of the machine's CPU capacity that processes other than the benchmark and its
    servers used between two snapshots. On a shared machine a busy neighbour during one
    system's turn skews the ratios; this is how a reader of the report can tell.

    Servers count as ours whether still running or stopped and reaped; one stopped but not yet
    reaped between the two snapshots would not, so take ``after`` once they are waited for.
    """
    if before is None or after is None:
        return None
    capacity = (after.at - before.at) * (os.cpu_count() or 1)
    if capacity <= 0:
        return None
    others = (after.machine_busy_s - before.machine_busy_s) - (after.ours_s - before.ours_s)
    return min(max(others / capacity, 0.0), 1.0)


