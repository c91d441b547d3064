"""The embedded engine: GGUF models run in-process by llama.cpp (llama-cpp-python).

Requests are admitted fairly (first come, first served) into ``parallel`` slots that a
``BatchDecoder`` decodes together; output can be constrained by a JSON schema or a forced tool
call through llama.cpp's grammar sampler. A request may name a LoRA adapter (a GGUF file) to
apply on the base weights: adapters are loaded once and share the base, the context and its
KV cache (``hearth.engines.lora``). Embeddings use a second, small context on the same
loaded weights. gpt-oss models speak harmony on both sides: the prompt is rendered to token ids
by openai-harmony and the generated ids go through its streaming parser.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import llama_cpp
import llama_cpp._logger
from llama_cpp._internals import LlamaModel
from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

from hearth.config import Settings
from hearth.engines.admission import Admission
from hearth.engines.base import ChatRequest, Delta, completion_budget
from hearth.engines.batch_decoder import BatchDecoder, Event, Sequence
from hearth.engines.chat_template import ChatTemplate
from hearth.engines.harmony import HarmonyStream, render_prompt
from hearth.engines.harmony_vocab import harmony_encoding
from hearth.engines.lora import Adapter, LoraAdapters
from hearth.engines.model_files import resolve_model_path
from hearth.engines.stops import StopMatcher
from hearth.engines.tool_calls import (
    CallHoldBack, forced_call_schema, forced_function_names, parse_tool_calls,
)
from hearth.errors import HearthError, InvalidRequest, ModelFileError

llama_cpp._logger.set_verbose(False)

MIN_CONTEXT = 2048
# Embeddings of the chat model read at most this many tokens of a text: a context of its own
# whose batch is the whole text, so its working memory grows with this.
EMBED_CONTEXT = 8192


def kv_bytes_per_token(model: llama_cpp.llama_model_p) -> int:
    """KV-cache bytes one token takes: a key and a value (f16) per layer and KV head."""
    head_dim = llama_cpp.llama_model_n_embd(model) // llama_cpp.llama_model_n_head(model)
    return (2 * llama_cpp.llama_model_n_layer(model) * llama_cpp.llama_model_n_head_kv(model)
            * head_dim * 2)


def fitting_context(trained: int, slots: int, per_token: int, budget_bytes: int) -> int:
    """The longest context, up to what the model was trained for, whose KV cache for every
    slot fits the budget (whole multiples of 256 tokens, at least ``MIN_CONTEXT``)."""
    fits = budget_bytes // (slots * per_token) // 256 * 256
    return max(min(trained, fits), min(trained, MIN_CONTEXT))


def kv_cache_budget(settings: Settings) -> int:
    if settings.kv_cache_mb is not None:
        return settings.kv_cache_mb * 2**20
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4


class LlamaCppEngine:
    supports_adapters = True

    def __init__(self, model_path: Path, model_id: str, *, models_dir: Path,
                 context_length: int | None, threads: int, parallel: int, max_queue: int,
                 kv_budget_bytes: int, prefix_cache: bool = True):
        """``context_length`` None: what the model was trained for, as far as
        ``kv_budget_bytes`` holds the KV cache of ``parallel`` sequences."""
        self.model_id = model_id
        self._threads = threads
        params = llama_cpp.llama_model_default_params()
        try:
            self._model = LlamaModel(path_model=str(model_path), params=params, verbose=False)
        except ValueError:  # llama.cpp says only "Failed to load model from file"
            raise ModelFileError(
                f"{model_path} could not be loaded: it starts like a GGUF file but llama.cpp "
                "cannot read it (damaged, truncated or of an unsupported version). Pull it "
                "again (hearth models pull) or give another file.") from None
        self.context_length = context_length or fitting_context(
            llama_cpp.llama_model_n_ctx_train(self._model.model), parallel,
            kv_bytes_per_token(self._model.model), kv_budget_bytes)
        self._vocab = self._model.vocab
        self._add_bos = self._model.add_bos_token()
        metadata = self._model.metadata()
        # gpt-oss was trained on harmony, which a Jinja template only approximates.
        self._harmony = (harmony_encoding(models_dir)
                         if metadata.get("general.architecture") == "gpt-oss" else None)
        self._template = None if self._harmony else self._chat_template(model_path, metadata)
        self.admission = Admission(parallel, max_queue)
        self._adapters = LoraAdapters(self._model.model)
        self._decoder = BatchDecoder(self._model.model, self._vocab, parallel,
                                     self.context_length, threads, prefix_cache=prefix_cache,
                                     adapters=self._adapters)
        self._embed_ctx: Any = None
        self._embed_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "LlamaCppEngine":
        path = resolve_model_path(settings.model, settings.models_dir)
        model_id = path.stem if Path(settings.model).suffix == ".gguf" else settings.model
        return cls(path, model_id, models_dir=settings.models_dir,
                   context_length=settings.context_length, threads=settings.threads,
                   parallel=settings.parallel, max_queue=settings.max_queue,
                   kv_budget_bytes=kv_cache_budget(settings),
                   prefix_cache=settings.prefix_cache)

    def _chat_template(self, model_path: Path, metadata: dict[str, str]) -> ChatTemplate:
        source = metadata.get("tokenizer.chat_template")
        if not source:
            raise InvalidRequest(f"{model_path.name} has no chat template: it is not a chat model.")
        return ChatTemplate(
            source,
            bos_token=self._model.token_get_text(self._model.token_bos()),
            eos_token=self._model.token_get_text(self._model.token_eos()),
        )

    # -- tokens ----------------------------------------------------------------------------

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._model.tokenize(text.encode(), add_bos=self._add_bos and special,
                                    special=special)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text, special=False))

    def queue_depth(self) -> int:
        return self.admission.depth

    # -- chat ------------------------------------------------------------------------------

    def _grammar(self, request: ChatRequest) -> str | None:
        """GBNF text that constrains the output, or None for free text."""
        if request.tools:
            names = forced_function_names(request.tools, request.tool_choice)
            if names:
                return json_schema_to_gbnf(json.dumps(forced_call_schema(request.tools, names)))
        fmt = request.response_format or {}
        if fmt.get("type") == "json_object":
            return JSON_GBNF
        if fmt.get("type") == "json_schema":
            try:
                return json_schema_to_gbnf(json.dumps(fmt["json_schema"]["schema"]))
            except Exception as exc:  # the converter raises bare exceptions on bad schemas
                raise InvalidRequest(f"Unsupported JSON schema: {exc}",
                                     param="response_format") from None
        return None

    def _sampler(self, request: ChatRequest, grammar: str | None,
                 budget: int) -> ctypes.c_void_p:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if grammar is not None:
            constraint = llama_cpp.llama_sampler_init_grammar(self._vocab, grammar.encode(),
                                                             b"root")
            if not constraint:
                llama_cpp.llama_sampler_free(chain)
                raise InvalidRequest("The output constraint could not be compiled to a grammar.",
                                     param="response_format")
            llama_cpp.llama_sampler_chain_add(chain, constraint)
        if request.frequency_penalty or request.presence_penalty:
            # Over every token generated (the sampler sees only those, never the prompt's), as
            # OpenAI defines them; the repeat penalty (1.0) is llama.cpp's own and stays off.
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_penalties(
                llama_cpp.llama_vocab_n_tokens(self._vocab), budget, 1.0,
                request.frequency_penalty, request.presence_penalty))
        if request.temperature == 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            if request.top_p < 1.0:
                llama_cpp.llama_sampler_chain_add(
                    chain, llama_cpp.llama_sampler_init_top_p(request.top_p, 1))
            llama_cpp.llama_sampler_chain_add(
                chain, llama_cpp.llama_sampler_init_temp(request.temperature))
            seed = llama_cpp.LLAMA_DEFAULT_SEED if request.seed is None else request.seed
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(seed))
        return chain

    async def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        tools = request.tools if request.tool_choice != "none" else None
        if self._harmony is not None:
            _refuse_constraints(request)
            prompt = render_prompt(self._harmony, request)
        else:
            assert self._template is not None
            prompt = self._tokenize(self._template.render(request.messages, tools), special=True)
            grammar = self._grammar(request)
        budget = completion_budget(self.context_length, len(prompt), request.max_tokens)
        async with self.admission.slot(request.priority):
            adapter = (await asyncio.to_thread(self._adapters.acquire, request.adapter)
                       if request.adapter else None)
            if self._harmony is not None:
                deltas = self._generate_harmony(request, prompt, budget, tools, adapter)
            else:
                deltas = self._generate(request, prompt, budget, grammar, tools, adapter)
            async for delta in deltas:
                yield delta

    def drop_adapter(self, path: str) -> None:
        """Unload the adapter at ``path`` once the requests using it have finished."""
        self._adapters.forget(path)

    def _start(self, request: ChatRequest, prompt: list[int], budget: int, grammar: str | None,
               adapter: Adapter | None, stop_tokens: frozenset[int] = frozenset(),
               ) -> tuple[Sequence, asyncio.Queue[Event]]:
        """Submit a sequence to the decoder; its events arrive on the returned queue. The
        sequence owns ``adapter`` from here: the decoder releases it when the sequence leaves."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        try:
            sampler = self._sampler(request, grammar, budget)
        except InvalidRequest:
            if adapter is not None:
                self._adapters.release(adapter)
            raise
        seq = Sequence(prompt=prompt, max_tokens=budget, sampler=sampler, emit=emit,
                       stop_tokens=stop_tokens, ignore_eos=request.ignore_eos,
                       cache_scope=request.cache_scope, adapter=adapter)
        self._decoder.submit(seq)
        return seq, events

    async def _generate(self, request: ChatRequest, prompt: list[int], budget: int,
                        grammar: str | None, tools: list[dict] | None,
                        adapter: Adapter | None) -> AsyncIterator[Delta]:
        seq, events = self._start(request, prompt, budget, grammar, adapter)
        stops = StopMatcher(request.stop if grammar is None else [])
        # With tools on offer, what may be a call is held back until the answer is complete.
        calls = CallHoldBack() if tools is not None else None
        try:
            while True:
                event = await events.get()
                finish, count = event.finish, event.count
                if finish is not None and finish.startswith("error"):
                    raise HearthError(f"Generation failed: {finish[7:]}")
                visible = stops.feed(event.text) if finish is None else stops.flush()
                if stops.stopped:
                    seq.cancelled = True
                    finish = "stop"
                if calls is not None:
                    visible = calls.feed(visible)
                if finish is None:
                    if visible:
                        yield Delta(content=visible)
                    continue
                rest = visible + (calls.flush() if calls is not None else "")
                yield self._last_delta(rest, finish, tools, len(prompt), count,
                                       seq.cached_tokens)
                return
        finally:
            seq.cancelled = True

    async def _generate_harmony(self, request: ChatRequest, prompt: list[int], budget: int,
                                tools: list[dict] | None,
                                adapter: Adapter | None) -> AsyncIterator[Delta]:
        assert self._harmony is not None
        seq, events = self._start(
            request, prompt, budget, None, adapter,
            frozenset(self._harmony.stop_tokens_for_assistant_actions()))
        parser = HarmonyStream(self._harmony, tools)
        stops = StopMatcher(request.stop)  # on the answer only, never on the reasoning
        count = 0
        try:
            while True:
                event = await events.get()
                finish, count = event.finish, event.count
                if event.token is not None:
                    delta = parser.feed(event.token)
                    if delta is not None and delta.content:
                        delta.content = stops.feed(delta.content)
                    if delta is not None and (delta.content or delta.reasoning):
                        yield delta
                    if stops.stopped or parser.broken:
                        seq.cancelled = True
                        finish = "stop"
                if finish is None:
                    continue
                if finish.startswith("error"):
                    raise HearthError(f"Generation failed: {finish[7:]}")
                last = parser.finish(finish)
                last.content = stops.flush()
                last.prompt_tokens, last.completion_tokens = len(prompt), count
                last.cached_tokens = seq.cached_tokens
                yield last
                return
        finally:
            seq.cancelled = True

    def _last_delta(self, text: str, finish: str, tools: list[dict] | None,
                    prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> Delta:
        calls = []
        if tools:
            text, calls = parse_tool_calls(text, tools)
        return Delta(content=text, tool_calls=calls or None,
                     finish_reason="tool_calls" if calls else finish,  # type: ignore[arg-type]
                     prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                     cached_tokens=cached_tokens)

    # -- embeddings ------------------------------------------------------------------------

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        return await asyncio.to_thread(self._embed_all, texts)

    @property
    def _embed_context(self) -> int:
        return min(self.context_length, EMBED_CONTEXT)

    def _embed_all(self, texts: list[str]) -> tuple[list[list[float]], int]:
        with self._embed_lock:
            if self._embed_ctx is None:
                params = llama_cpp.llama_context_default_params()
                params.n_ctx = params.n_batch = params.n_ubatch = self._embed_context
                params.n_seq_max = 1
                params.embeddings = True
                params.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_MEAN
                params.n_threads = params.n_threads_batch = self._threads
                self._embed_ctx = llama_cpp.llama_init_from_model(self._model.model, params)
            vectors, total = [], 0
            for text in texts:
                tokens = self._tokenize(text, special=False)[: self._embed_context] or [0]
                total += len(tokens)
                vectors.append(self._embed_one(tokens))
            return vectors, total

    def _embed_one(self, tokens: list[int]) -> list[float]:
        ctx = self._embed_ctx
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            for i, token in enumerate(tokens):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, i, 1
                batch.seq_id[i][0], batch.logits[i] = 0, True
            batch.n_tokens = len(tokens)
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise HearthError("Embedding failed in llama.cpp.")
        finally:
            llama_cpp.llama_batch_free(batch)
        n_embd = llama_cpp.llama_model_n_embd(self._model.model)
        raw = llama_cpp.llama_get_embeddings_seq(ctx, 0)
        vector = [raw[i] for i in range(n_embd)]
        norm = sum(x * x for x in vector) ** 0.5 or 1.0
        return [x / norm for x in vector]

    async def close(self) -> None:
        await asyncio.to_thread(self._decoder.close)
        if self._embed_ctx is not None:
            llama_cpp.llama_free(self._embed_ctx)
            self._embed_ctx = None
        self._model.close()


def _refuse_constraints(request: ChatRequest) -> None:
    """Output constraints are grammars over the whole output, which for gpt-oss would have to
    admit harmony's channels too; until they do, such requests are refused, not ignored."""
    if request.tools and forced_function_names(request.tools, request.tool_choice):
        raise InvalidRequest("gpt-oss models take tool_choice 'auto' or 'none' only.",
                             param="tool_choice")
    if (request.response_format or {}).get("type") in ("json_object", "json_schema"):
        raise InvalidRequest("gpt-oss models do not support response_format yet.",
                             param="response_format")
