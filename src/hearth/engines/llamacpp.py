"""The embedded engine: GGUF models run in-process by llama.cpp (llama-cpp-python).

Requests are admitted fairly (first come, first served) into ``parallel`` slots that a
``BatchDecoder`` decodes together; output can be constrained by a JSON schema or a forced tool
call through llama.cpp's grammar sampler. Embeddings use a second, small context on the same
loaded weights.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
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
from hearth.engines.batch_decoder import BatchDecoder, Sequence
from hearth.engines.chat_template import ChatTemplate
from hearth.engines.model_files import resolve_model_path
from hearth.engines.stops import StopMatcher
from hearth.engines.tool_calls import forced_call_schema, forced_function_names, parse_tool_calls
from hearth.errors import HearthError, InvalidRequest, ModelFileError

llama_cpp._logger.set_verbose(False)


class LlamaCppEngine:
    def __init__(self, model_path: Path, model_id: str, *, context_length: int, threads: int,
                 parallel: int, max_queue: int):
        self.model_id = model_id
        self.context_length = context_length
        self._threads = threads
        params = llama_cpp.llama_model_default_params()
        try:
            self._model = LlamaModel(path_model=str(model_path), params=params, verbose=False)
        except ValueError:  # llama.cpp says only "Failed to load model from file"
            raise ModelFileError(
                f"{model_path} could not be loaded: it starts like a GGUF file but llama.cpp "
                "cannot read it (damaged, truncated or of an unsupported version). Pull it "
                "again (hearth models pull) or give another file.") from None
        self._vocab = self._model.vocab
        self._add_bos = self._model.add_bos_token()
        metadata = self._model.metadata()
        source = metadata.get("tokenizer.chat_template")
        if not source:
            raise InvalidRequest(f"{model_path.name} has no chat template: it is not a chat model.")
        self._template = ChatTemplate(
            source,
            bos_token=self._model.token_get_text(self._model.token_bos()),
            eos_token=self._model.token_get_text(self._model.token_eos()),
        )
        self.admission = Admission(parallel, max_queue)
        self._decoder = BatchDecoder(self._model.model, self._vocab, parallel, context_length,
                                     threads)
        self._embed_ctx: Any = None
        self._embed_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "LlamaCppEngine":
        path = resolve_model_path(settings.model, settings.models_dir)
        model_id = path.stem if Path(settings.model).suffix == ".gguf" else settings.model
        return cls(path, model_id, context_length=settings.context_length,
                   threads=settings.threads, parallel=settings.parallel,
                   max_queue=settings.max_queue)

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

    def _sampler(self, request: ChatRequest, grammar: str | None) -> ctypes.c_void_p:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if grammar is not None:
            constraint = llama_cpp.llama_sampler_init_grammar(self._vocab, grammar.encode(),
                                                             b"root")
            if not constraint:
                llama_cpp.llama_sampler_free(chain)
                raise InvalidRequest("The output constraint could not be compiled to a grammar.",
                                     param="response_format")
            llama_cpp.llama_sampler_chain_add(chain, constraint)
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
        prompt = self._tokenize(self._template.render(request.messages, tools), special=True)
        budget = completion_budget(self.context_length, len(prompt), request.max_tokens)
        grammar = self._grammar(request)
        async with self.admission.slot(request.priority):
            async for delta in self._generate(request, prompt, budget, grammar, tools):
                yield delta

    async def _generate(self, request: ChatRequest, prompt: list[int], budget: int,
                        grammar: str | None, tools: list[dict] | None) -> AsyncIterator[Delta]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str | None, str | None, int]] = asyncio.Queue()

        def emit(text: str | None, finish: str | None, count: int) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (text, finish, count))

        seq = Sequence(prompt=prompt, max_tokens=budget, sampler=self._sampler(request, grammar),
                       emit=emit)
        self._decoder.submit(seq)
        # Tool calls are only known once the output is complete, so with tools on offer
        # the answer is held back and sent whole.
        hold = tools is not None
        stops = StopMatcher(request.stop if grammar is None else [])
        held: list[str] = []
        try:
            while True:
                text, finish, count = await events.get()
                if finish is None:
                    visible = stops.feed(text or "")
                    if stops.stopped:
                        seq.cancelled = True
                        held.append(visible)
                        finish = "stop"
                    elif hold:
                        held.append(visible)
                        continue
                    else:
                        if visible:
                            yield Delta(content=visible)
                        continue
                elif finish.startswith("error"):
                    raise HearthError(f"Generation failed: {finish[7:]}")
                else:
                    held.append(stops.flush())
                yield self._last_delta("".join(held), finish, tools, len(prompt), count)
                return
        finally:
            seq.cancelled = True

    def _last_delta(self, text: str, finish: str, tools: list[dict] | None,
                    prompt_tokens: int, completion_tokens: int) -> Delta:
        calls = []
        if tools:
            text, calls = parse_tool_calls(text, tools)
        return Delta(content=text, tool_calls=calls or None,
                     finish_reason="tool_calls" if calls else finish,  # type: ignore[arg-type]
                     prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    # -- embeddings ------------------------------------------------------------------------

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        return await asyncio.to_thread(self._embed_all, texts)

    def _embed_all(self, texts: list[str]) -> tuple[list[list[float]], int]:
        with self._embed_lock:
            if self._embed_ctx is None:
                params = llama_cpp.llama_context_default_params()
                params.n_ctx = self.context_length
                params.n_batch = params.n_ubatch = self.context_length
                params.n_seq_max = 1
                params.embeddings = True
                params.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_MEAN
                params.n_threads = params.n_threads_batch = self._threads
                self._embed_ctx = llama_cpp.llama_init_from_model(self._model.model, params)
            vectors, total = [], 0
            for text in texts:
                tokens = self._tokenize(text, special=False)[: self.context_length] or [0]
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
