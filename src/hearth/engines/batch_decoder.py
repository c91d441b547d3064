"""Continuous batching on llama.cpp: many sequences decoded together in one batch.

One thread owns the llama.cpp context. Each step it puts the next token of every generating
sequence, plus a chunk of any new prompt, into one batch and calls ``llama_decode`` once;
on a CPU that costs little more than decoding a single sequence, so throughput grows with
the number of concurrent clients instead of clients queueing behind a lock. A sequence
joins at the next step after it arrives and leaves the moment it finishes or is cancelled,
which frees its KV-cache cells for the next one.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import llama_cpp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """What a sequence reports back: a generated token with the text it completes (empty while
    a UTF-8 character is incomplete), or the end with its reason ("stop", "length" or
    "error: …"). ``count`` is the number of tokens generated so far."""

    count: int
    token: int | None = None
    text: str = ""
    finish: str | None = None


Emit = Callable[[Event], None]


@dataclass(eq=False)
class Sequence:
    """One request's generation state; only the decoder thread touches the counters."""

    prompt: list[int]
    max_tokens: int
    sampler: ctypes.c_void_p
    emit: Emit
    # Tokens that end generation besides the vocabulary's own end-of-generation tokens: the
    # stop tokens a chat format names (harmony's <|call|> and <|return|>).
    stop_tokens: frozenset[int] = frozenset()
    cancelled: bool = False
    slot: int = -1
    n_past: int = 0
    pending: list[int] = field(default_factory=list)
    generated: int = 0
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )


class BatchDecoder:
    """Runs the decode loop for up to ``slots`` sequences on one llama.cpp context."""

    def __init__(self, model: llama_cpp.llama_model_p, vocab: llama_cpp.llama_vocab_p,
                 slots: int, context_length: int, threads: int, batch_tokens: int = 512):
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = slots * context_length
        params.n_batch = batch_tokens
        params.n_ubatch = batch_tokens
        params.n_seq_max = slots
        params.n_threads = threads
        params.n_threads_batch = threads
        params.kv_unified = True
        self._ctx = llama_cpp.llama_init_from_model(model, params)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._vocab = vocab
        self._batch_tokens = batch_tokens
        self._batch = llama_cpp.llama_batch_init(batch_tokens, 0, 1)
        self._slots: list[Sequence | None] = [None] * slots
        self._inbox: queue.Queue[Sequence] = queue.Queue()
        self._closing = False
        self._piece = ctypes.create_string_buffer(256)
        self._thread = threading.Thread(target=self._run, name="hearth-decoder", daemon=True)
        self._thread.start()

    def submit(self, seq: Sequence) -> None:
        """Queue a sequence; the caller must not submit more than ``slots`` at once."""
        seq.pending = list(seq.prompt)
        self._inbox.put(seq)

    def close(self) -> None:
        self._closing = True
        self._thread.join(timeout=10)
        for seq in self._slots:
            if seq is not None:
                llama_cpp.llama_sampler_free(seq.sampler)
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self._ctx)

    # -- the loop, on the decoder thread -------------------------------------------------

    def _run(self) -> None:
        while not self._closing:
            self._admit(block=not any(self._slots))
            self._retire_cancelled()
            if any(self._slots):
                try:
                    self._step()
                except Exception as exc:  # never let one bad step kill the server
                    log.exception("decode step failed")
                    for seq in self._active():
                        self._finish(seq, f"error: {exc}")

    def _active(self) -> list[Sequence]:
        return [s for s in self._slots if s is not None]

    def _admit(self, block: bool) -> None:
        try:
            while None in self._slots:
                seq = self._inbox.get(timeout=0.05) if block else self._inbox.get_nowait()
                block = False
                seq.slot = self._slots.index(None)
                self._slots[seq.slot] = seq
        except queue.Empty:
            pass

    def _retire_cancelled(self) -> None:
        for seq in self._active():
            if seq.cancelled:
                self._release(seq)

    def _step(self) -> None:
        batch = self._batch
        batch.n_tokens = 0
        sample_at: list[tuple[Sequence, int]] = []
        # Generating sequences first (one token each), then prompt chunks in the room left,
        # so a long new prompt never stalls the streams already running.
        active = self._active()
        generating = [s for s in active if s.generated > 0 or len(s.pending) == 0]
        prefilling = [s for s in active if s not in generating]
        for seq in generating + prefilling:
            room = self._batch_tokens - batch.n_tokens
            if room <= 0:
                break
            chunk = seq.pending[:room]
            for token in chunk:
                i = batch.n_tokens
                batch.token[i] = token
                batch.pos[i] = seq.n_past
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq.slot
                batch.logits[i] = False
                batch.n_tokens += 1
                seq.n_past += 1
            del seq.pending[: len(chunk)]
            if not seq.pending:
                batch.logits[batch.n_tokens - 1] = True
                sample_at.append((seq, batch.n_tokens - 1))
        code = llama_cpp.llama_decode(self._ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")
        for seq, index in sample_at:
            self._advance(seq, llama_cpp.llama_sampler_sample(seq.sampler, self._ctx, index))

    def _advance(self, seq: Sequence, token: int) -> None:
        if token in seq.stop_tokens or llama_cpp.llama_vocab_is_eog(self._vocab, token):
            self._finish(seq, "stop")
            return
        seq.generated += 1
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece, 256, 0, True)
        text = seq.decoder.decode(self._piece.raw[: max(n, 0)])
        seq.emit(Event(seq.generated, token, text))
        if seq.generated >= seq.max_tokens:
            self._finish(seq, "length")
        else:
            seq.pending = [token]

    def _finish(self, seq: Sequence, reason: str) -> None:
        tail = seq.decoder.decode(b"", final=True)
        if tail:
            seq.emit(Event(seq.generated, text=tail))
        seq.emit(Event(seq.generated, finish=reason))
        self._release(seq)

    def _release(self, seq: Sequence) -> None:
        llama_cpp.llama_memory_seq_rm(self._memory, seq.slot, -1, -1)
        llama_cpp.llama_sampler_free(seq.sampler)
        self._slots[seq.slot] = None
