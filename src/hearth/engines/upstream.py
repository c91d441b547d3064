"""The upstream engine: forward to any OpenAI-compatible server (vLLM, SGLang, llama-server,
Ollama, another hearth) and turn its answers into ``Delta`` pieces.

Each replica has a pool of keep-alive connections (``hearth.engines.http1``, which says why
not httpx or aiohttp), so a request costs no set-up. A streaming request is streamed upstream
too and each SSE chunk becomes a Delta as it arrives; a whole-answer request is one
whole-answer call upstream, which is the cheaper path.
Usage comes from the upstream's own numbers (``stream_options.include_usage`` when streaming).
Reasoning comes back apart from the answer under either name servers use for it: ``reasoning``
(vLLM today, Ollama) or ``reasoning_content`` (older vLLM, SGLang, llama-server);
``reasoning_effort`` is passed on as the caller gave it.

Replicas of one model (``HEARTH_UPSTREAM_URL=http://a/v1,http://b/v1``) take requests in turn;
a connection error or a 5xx before anything reached the caller moves the request to the next
replica (see ``hearth.engines.replicas``). Upstream 4xx answers become hearth's own errors with
the upstream's message. The upstream batches requests itself, so admission here allows
``HEARTH_UPSTREAM_CONCURRENCY`` requests in flight, far more than an embedded engine's slots.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

from pydantic_core import PydanticSerializationError, from_json, to_json

from hearth.config import Settings
from hearth.engines.admission import Admission
from hearth.engines.base import ChatRequest, Delta, FinishReason, ToolCall
from hearth.engines.http1 import Http1Pool, Response
from hearth.engines.replicas import Replica, Replicas
from hearth.engines.tool_calls import new_call_id
from hearth.errors import (
    HearthError,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    UpstreamError,
)

CONNECT_TIMEOUT_S = 5.0
# A whole answer from a loaded upstream can take minutes; a stream can pause as long between
# chunks while the upstream queues the request.
READ_TIMEOUT_S = 600.0
# Below the 5 s after which uvicorn (vLLM's, SGLang's and hearth's own server) closes an idle
# connection, so that a kept-alive connection is seldom reused just as the upstream closes it
# (and when it is, the pool retries on a new one).
KEEPALIVE_S = 4.0


def parse_upstream_urls(text: str) -> list[str]:
    """``HEARTH_UPSTREAM_URL``: one base URL or several, comma-separated, each http(s)."""
    urls = [part.strip().rstrip("/") for part in text.split(",") if part.strip()]
    bad = [url for url in urls if not url.startswith(("http://", "https://"))]
    if not urls or bad:
        raise InvalidRequest(
            f"HEARTH_UPSTREAM_URL={text!r} is not a list of http(s) base URLs; give one like "
            "http://127.0.0.1:8000/v1, or several separated by commas."
        )
    return urls


def estimate_tokens(text: str) -> int:
    """About four characters per token, as in English text under common BPE vocabularies.

    hearth has no tokenizer for a model that runs elsewhere, and asking the upstream would cost
    a round trip. Usage numbers come from the upstream; this is for where it sends none and for
    callers of ``count_tokens``.
    """
    return len(text) // 4 + 1


def upstream_error(status: int, body: bytes, retry_after: str | None, url: str) -> HearthError:
    """hearth's error for an upstream error answer, keeping the upstream's message.

    The caller's mistakes (400, 413, 422, …) and rate limits (429) pass through as the same kind
    of error; the upstream refusing hearth's key or model, and its own failures, are hearth's
    configuration or the upstream's fault, so they become 502s that say where to look.
    """
    message, param, code = _error_fields(body)
    if status >= 500:
        return UpstreamError(f"The upstream at {url} failed (HTTP {status}): {message}")
    if status in (401, 403):
        return UpstreamError(f"The upstream at {url} refused hearth's credentials (HTTP {status}:"
                             f" {message}); check HEARTH_UPSTREAM_API_KEY.")
    if status == 404:
        return UpstreamError(f"The upstream at {url} answered 404 ({message}); check "
                             "HEARTH_UPSTREAM_URL (it should end in /v1) and "
                             "HEARTH_UPSTREAM_MODEL.")
    if status == 413:
        return PayloadTooLarge(message)
    if status == 429:
        return RateLimited(message, retry_after=int(retry_after) if retry_after and
                           retry_after.isdigit() else 1)
    return InvalidRequest(message, param=param, code=code)


def _error_fields(body: bytes) -> tuple[str, str | None, str | None]:
    """Message, param and code of an OpenAI-shaped error body, or the body's text."""
    try:
        error = json.loads(body)["error"]
        if isinstance(error, str):
            return error, None, None
        param, code = error.get("param"), error.get("code")
        return (str(error.get("message") or error), param if isinstance(param, str) else None,
                code if isinstance(code, str) else None)  # vLLM sends the status as the code
    except (ValueError, KeyError, TypeError, AttributeError):
        return body.decode(errors="replace").strip()[:500] or "(empty answer)", None, None


class UpstreamEngine:
    supports_adapters = False

    def __init__(self, model_id: str, urls: list[str], *, upstream_model: str,
                 api_key: str | None, context_length: int | None, concurrency: int,
                 max_queue: int):
        self.model_id = model_id
        self.context_length = context_length  # not enforced here: the upstream knows its own
        self.upstream_model = upstream_model
        self.replicas = Replicas(urls)
        self.admission = Admission(concurrency, max_queue)
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        # Admission bounds the requests in flight, so the pools need not: each keeps as many
        # idle connections as were ever busy at once, for as long as the upstream allows.
        self._pools = {url: Http1Pool(url, headers, connect_timeout_s=CONNECT_TIMEOUT_S,
                                      read_timeout_s=READ_TIMEOUT_S, keepalive_s=KEEPALIVE_S)
                       for url in urls}

    @classmethod
    def from_settings(cls, settings: Settings) -> "UpstreamEngine":
        if not settings.upstream_url:
            raise InvalidRequest("The upstream engine needs HEARTH_UPSTREAM_URL, the base URL of "
                                 "an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
        return cls(settings.model, parse_upstream_urls(settings.upstream_url),
                   upstream_model=settings.upstream_model or settings.model,
                   api_key=settings.upstream_api_key, context_length=settings.context_length,
                   concurrency=settings.upstream_concurrency, max_queue=settings.max_queue)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def drop_adapter(self, path: str) -> None:
        """Nothing to unload: this engine applies no adapters (``supports_adapters``)."""

    def queue_depth(self) -> int:
        return self.admission.depth

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()

    # -- chat ------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        content = _json_bytes(self._chat_body(request))
        async with self.admission.slot(request.priority):
            response = await self._send("/chat/completions", content)
            try:
                if not request.stream:
                    yield self._whole_answer(await _read(response), response, request)
                    return
                async for delta in self._streamed_answer(response, request):
                    yield delta
            finally:
                # A response read to its end has already gone back to the pool, so this only
                # acts when the caller stopped early: dropping the connection stops the upstream.
                response.close()

    def _chat_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.upstream_model, "messages": request.messages,
                                "temperature": request.temperature, "top_p": request.top_p,
                                "stream": request.stream}
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        optional = {"max_tokens": request.max_tokens, "seed": request.seed,
                    "stop": request.stop or None, "response_format": request.response_format,
                    "tools": request.tools, "tool_choice": request.tool_choice,
                    "reasoning_effort": request.reasoning_effort,
                    "frequency_penalty": request.frequency_penalty or None,
                    "presence_penalty": request.presence_penalty or None}
        body.update((key, value) for key, value in optional.items() if value is not None)
        return body

    def _whole_answer(self, body: bytes, response: Response, request: ChatRequest) -> Delta:
        try:
            data = from_json(body)  # a third of json.loads's time, on every whole answer
            choice = data["choices"][0]
            message = choice["message"]
            calls = [ToolCall(c.get("id") or new_call_id(), c["function"]["name"],
                              c["function"].get("arguments") or "")
                     for c in message.get("tool_calls") or ()]
        except (ValueError, KeyError, IndexError, TypeError):
            raise UpstreamError(f"The upstream at {response.url} answered with something that "
                                "is not an OpenAI chat completion.") from None
        content = message.get("content") or ""
        last = self._last_delta(content, calls, choice.get("finish_reason"),
                                data.get("usage"), request, content)
        last.reasoning = _reasoning(message)
        return last

    async def _streamed_answer(self, response: Response,
                               request: ChatRequest) -> AsyncIterator[Delta]:
        """Yield content as it arrives; hold the finish back until the usage chunk (which
        follows it) and the end of the stream, so the last Delta carries both and the
        connection is back in the pool before the caller hears the answer is done."""
        calls: dict[int, dict[str, str]] = {}
        written: list[str] = []
        tail = ""
        finish: str | None = None
        usage: dict[str, Any] | None = None
        done = False
        try:
            async for line in response.lines():
                if done or not line.startswith(b"data:"):
                    continue  # blank separators, comments, "event:" lines
                data = line[5:].strip()
                if data == b"[DONE]":
                    done = True
                    continue
                chunk = json.loads(data)
                if "error" in chunk:
                    raise UpstreamError(f"The upstream at {response.url} failed mid-answer: "
                                        f"{_error_fields(data)[0]}")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or ():
                    piece = choice.get("delta") or {}
                    _merge_tool_calls(calls, piece.get("tool_calls"))
                    finish = choice.get("finish_reason") or finish
                    if thought := _reasoning(piece):
                        yield Delta(reasoning=thought)
                    text = piece.get("content")
                    if text:
                        written.append(text)
                        if finish is None:
                            yield Delta(content=text)
                        else:
                            tail += text
            if finish is None and not done:
                raise UpstreamError(f"The upstream at {response.url} ended its stream before "
                                    "the answer was finished.")
        except (ConnectionError, TimeoutError) as exc:
            raise UpstreamError(f"The connection to the upstream at {response.url} broke "
                                f"mid-answer: {exc.__class__.__name__}: {exc}") from None
        except (ValueError, TypeError, AttributeError):
            raise UpstreamError(f"The upstream at {response.url} streamed something that is not "
                                "OpenAI chat completion chunks.") from None
        tool_calls = [ToolCall(c["id"] or new_call_id(), c["name"], c["arguments"])
                      for _, c in sorted(calls.items())]
        yield self._last_delta(tail, tool_calls, finish, usage, request, "".join(written))

    def _last_delta(self, content: str, calls: list[ToolCall], finish: str | None,
                    usage: dict[str, Any] | None, request: ChatRequest, answer: str) -> Delta:
        """The closing Delta: finish reason and usage, estimated where the upstream sent none."""
        if usage:
            prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        else:
            prompt = sum(self.count_tokens(str(m.get("content") or "")) for m in request.messages)
            completion = self.count_tokens(answer + "".join(c.arguments for c in calls))
        # Passed on as the upstream said it, even a reason hearth's engines never give
        # (OpenAI's "content_filter").
        reason = cast(FinishReason, finish or ("tool_calls" if calls else "stop"))
        return Delta(content=content, tool_calls=calls or None, finish_reason=reason,
                     prompt_tokens=prompt, completion_tokens=completion)

    # -- embeddings ------------------------------------------------------------------------

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        content = json.dumps({"model": self.upstream_model, "input": texts,
                              "encoding_format": "float"}).encode()
        async with self.admission.slot():
            response = await self._send("/embeddings", content)
            body = await _read(response)
        try:
            data = json.loads(body)
            vectors = [item["embedding"] for item in sorted(data["data"], key=lambda d: d["index"])]
        except (ValueError, KeyError, TypeError):
            raise UpstreamError(f"The upstream at {response.url} answered with something that "
                                "is not an OpenAI embeddings list.") from None
        usage = data.get("usage") or {}
        return vectors, usage.get("prompt_tokens") or sum(map(self.count_tokens, texts))

    # -- transport -------------------------------------------------------------------------

    async def _send(self, path: str, content: bytes) -> Response:
        """POST to the replicas in turn until one answers below 500, and return that response
        with only its headers read. A 4xx is raised as hearth's error at once."""
        problems: list[str] = []
        for replica in self.replicas.in_turn():
            try:
                response = await self._pools[replica.url].post(path, content)
            except TimeoutError:
                # The upstream took the request and is slow; another replica would redo it.
                raise UpstreamError(f"The upstream at {replica.url} did not answer within "
                                    f"{READ_TIMEOUT_S:.0f} s.") from None
            except ConnectionError as exc:  # no answer began: another replica can take it
                problems.append(self._failed(replica, exc))
                continue
            if response.status < 400:
                self.replicas.answered(replica)
                return response
            body = await _read(response)
            error = upstream_error(response.status, body, response.headers.get("retry-after"),
                                   replica.url)
            if response.status < 500:
                raise error
            problems.append(self._failed(replica, error))
        raise UpstreamError(f"No upstream replica could answer ({len(problems)} tried): "
                            + "; ".join(problems))

    def _failed(self, replica: Replica, problem: Exception) -> str:
        self.replicas.failed(replica)
        if isinstance(problem, HearthError):
            return problem.message
        return f"{replica.url}: {problem.__class__.__name__}: {problem}"


def _json_bytes(value: Any) -> bytes:
    """``value`` as JSON, by pydantic-core (a fifth of json.dumps's time on a chat request);
    text it cannot encode as UTF-8 (a lone surrogate) is escaped by ``json`` instead."""
    try:
        return to_json(value)
    except PydanticSerializationError:
        return json.dumps(value).encode()


async def _read(response: Response) -> bytes:
    """The whole body; a connection that breaks while it arrives is the upstream's failure."""
    try:
        return await response.read()
    except (ConnectionError, TimeoutError) as exc:
        raise UpstreamError(f"The connection to the upstream at {response.url} broke while "
                            f"answering: {exc.__class__.__name__}: {exc}") from None


def _reasoning(message: dict[str, Any]) -> str:
    """The reasoning in an upstream message or delta, under whichever name the server uses."""
    return message.get("reasoning") or message.get("reasoning_content") or ""


def _merge_tool_calls(calls: dict[int, dict[str, str]], pieces: list[dict] | None) -> None:
    """Streamed tool calls arrive in pieces keyed by index: the id and name once, the
    arguments as fragments to concatenate."""
    for piece in pieces or ():
        call = calls.setdefault(piece.get("index", 0), {"id": "", "name": "", "arguments": ""})
        function = piece.get("function") or {}
        call["id"] = piece.get("id") or call["id"]
        call["name"] = function.get("name") or call["name"]
        call["arguments"] += function.get("arguments") or ""
