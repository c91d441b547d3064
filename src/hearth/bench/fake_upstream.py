"""An OpenAI-compatible server that answers at once: the upstream that ``hearth bench gateway``
puts behind hearth and LiteLLM, and that the upstream engine's tests forward to.

Run it with ``python -m hearth.bench.fake_upstream --port 9000``. It serves
``GET /v1/models``, ``POST /v1/chat/completions`` (whole or streamed, a fixed short answer,
usage filled in; a call with empty arguments when ``tool_choice`` forces a tool) and
``POST /v1/embeddings``, accepting any model name and echoing it back.
A request with ``reasoning_effort`` is answered with reasoning too, "Thinking (<effort>).",
named as servers name it: ``reasoning_content`` in a whole answer (llama-server, SGLang),
``reasoning`` in a stream (vLLM).

A gateway benchmark measures what the gateway adds, so this must cost as little as possible:
a raw ASGI app (no framework, no validation) on uvicorn with uvloop and httptools. Two knobs
make it misbehave like a real upstream for tests: ``--context-length`` refuses larger
``max_tokens`` with a 400 as vLLM does, and ``--error-status`` answers every POST with that
HTTP error (a replica in trouble).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

ANSWER_WORDS = ("Hello!", "I", "am", "a", "fake", "upstream.")
EMBEDDING_DIMENSIONS = 8
DEFAULT_CONTEXT_LENGTH = 32768

_JSON = (b"content-type", b"application/json")
_SSE = (b"content-type", b"text/event-stream")


def _error(message: str, type_: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": None}}


def _forced_tool(request: dict[str, Any]) -> str | None:
    """The function ``tool_choice`` makes the model call: a named one, or the first tool when
    it is "required"."""
    tools, choice = request.get("tools") or [], request.get("tool_choice")
    if isinstance(choice, dict):
        return choice.get("function", {}).get("name")
    return tools[0]["function"]["name"] if tools and choice == "required" else None


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "")) // 4 + 1 for m in messages)


class FakeUpstream:
    """The ASGI app. ``created`` is fixed at start so answers cost no clock reads."""

    def __init__(self, context_length: int = DEFAULT_CONTEXT_LENGTH,
                 error_status: int | None = None):
        self.context_length = context_length
        self.error_status = error_status
        self.created = int(time.time())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/v1/models":
            await _reply(send, 200, {"object": "list", "data": [
                {"id": "fake-upstream", "object": "model", "created": self.created,
                 "owned_by": "hearth-bench"}]})
            return
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/embeddings"):
            await _reply(send, 404, _error(f"No route {method} {path}.", "not_found_error"))
            return
        body = await _read_body(receive)
        if self.error_status:
            await _reply(send, self.error_status,
                         _error("The fake upstream was told to fail.", "server_error"))
            return
        try:
            request = json.loads(body)
        except ValueError:
            await _reply(send, 400, _error("The body is not valid JSON.", "invalid_request_error"))
            return
        if path == "/v1/embeddings":
            await self._embeddings(request, send)
        else:
            await self._chat(request, send)

    async def _chat(self, request: dict[str, Any], send: Send) -> None:
        max_tokens = request.get("max_tokens") or request.get("max_completion_tokens")
        if max_tokens is not None and max_tokens > self.context_length:
            await _reply(send, 400, _error(
                f"max_tokens is too large: {max_tokens}. This model's maximum context length is "
                f"{self.context_length} tokens.", "invalid_request_error", "max_tokens"))
            return
        tool = _forced_tool(request)
        words = () if tool else ANSWER_WORDS[:max_tokens] if max_tokens else ANSWER_WORDS
        finish = "tool_calls" if tool else "length" if len(words) < len(ANSWER_WORDS) else "stop"
        prompt = _prompt_tokens(request.get("messages") or [])
        completion = len(words) or 1
        usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion}
        base = {"id": "chatcmpl-fake", "created": self.created,
                "model": request.get("model", "fake-upstream")}
        call = {"id": "call_fake", "type": "function",
                "function": {"name": tool, "arguments": "{}"}}
        effort = request.get("reasoning_effort")
        if not request.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": " ".join(words) or None}
            if effort:
                message["reasoning_content"] = f"Thinking ({effort})."
            if tool:
                message["tool_calls"] = [call]
            await _reply(send, 200, {
                **base, "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": finish,
                             "logprobs": None}],
                "usage": usage})
            return
        base["object"] = "chat.completion.chunk"
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if effort:
            deltas += [{"reasoning": "Thinking"}, {"reasoning": f" ({effort})."}]
        deltas += [{"content": word if i == 0 else " " + word} for i, word in enumerate(words)]
        if tool:  # as OpenAI streams a call: id and name first, then the arguments in pieces
            deltas.append({"tool_calls": [{"index": 0, **call,
                                           "function": {"name": tool, "arguments": ""}}]})
            deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                       for piece in ("{", "}")]
        events = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
                  for d in deltas]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (request.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        await _send_whole(send, 200, _SSE, sse.encode())

    async def _embeddings(self, request: dict[str, Any], send: Send) -> None:
        texts = request.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        data = []
        for i, text in enumerate(texts):
            digest = hashlib.sha256(str(text).encode()).digest()
            data.append({"object": "embedding", "index": i,
                         "embedding": [b / 255 - 0.5 for b in digest[:EMBEDDING_DIMENSIONS]]})
        tokens = sum(len(str(t)) // 4 + 1 for t in texts)
        await _reply(send, 200, {"object": "list", "data": data,
                                 "model": request.get("model", "fake-upstream"),
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _reply(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _send_whole(send, status, _JSON, json.dumps(payload).encode())


async def _send_whole(send: Send, status: int, content_type: tuple[bytes, bytes],
                      body: bytes) -> None:
    """One response with its length declared: without it uvicorn would chunk the body, which
    costs an extra write per answer."""
    headers = [content_type, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hearth.bench.fake_upstream",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--context-length", type=int, default=DEFAULT_CONTEXT_LENGTH,
                        help="max_tokens above this is refused with a 400")
    parser.add_argument("--error-status", type=int, default=None,
                        help="answer every POST with this HTTP status (e.g. 503)")
    args = parser.parse_args(argv)
    app = FakeUpstream(args.context_length, args.error_status)
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                lifespan="off", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
