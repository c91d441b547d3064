"""Continuous batching on llama.cpp: many sequences decoded together in one batch.

One thread owns the llama.cpp context. Each step it puts the next token of every generating
sequence, plus a chunk of any new prompt, into one batch and calls ``llama_decode`` once;
on a CPU that costs little more than decoding a single sequence, so throughput grows with
the number of concurrent clients instead of clients queueing behind a lock. A sequence
joins at the next step after it arrives and leaves the moment it finishes or is cancelled.

Prefix caching: a slot keeps the KV cache of the last sequence it ran after that sequence
leaves, and a new sequence goes to the free slot whose kept tokens share the longest prefix with
its prompt, so only the rest of the prompt is decoded. Agents resend their whole history each
turn, so their next prompt starts with the last one (and its answer): the second turn of a
4,000-token conversation decodes only its new turn. A sequence that shares little with every
kept cache (less than ``WORTH_REUSING`` of it) takes the free slot used longest ago, so the most
recent caches live longest. The budget is the
context itself: a slot never holds more than ``context_length`` tokens, running or kept, so
kept caches can never starve running sequences of cells.

A sequence also borrows from the other slots: where another slot's cache (kept, or of a
sequence still running) holds a longer prefix of its prompt than its own slot does, those cells
are shared into its slot (``llama_memory_seq_cp``, which in the unified KV cache only tags the
cells with one more sequence: nothing is copied). Prompts that start alike (the chat template's
system prompt, an org's shared instructions, the tools of an agent) then decode that start once,
whichever slot each request lands in; llama-cpp-python's ``Llama`` reuses the same prefix of its
last prompt, which is why its time to the first token read 0.27 s against hearth's 0.40 s on the
engine benchmark before this.

A slot's cache is offered only to sequences of the same ``cache_scope`` (the org): the tokens
are the same however they were computed, so no answer could differ, but the time to the first
token would tell one org that another had just sent the same prefix. Nor is it offered across
LoRA adapters: there the same tokens have other keys and values. Sequences of several adapters
share the context, one adapter per step (``hearth.engines.lora`` says why and what it costs).
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

from hearth.engines.lora import Adapter, LoraAdapters

log = logging.getLogger(__name__)

# A slot's cache is reused when the prompt shares at least this share of it (llama-server's
# slot similarity); below that the prompt goes to the slot used longest ago instead.
WORTH_REUSING = 0.5

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


@dataclass
class _KeptCache:
    """What a free slot's KV cache holds, and when the slot was last used."""

    tokens: list[int] = field(default_factory=list)
    scope: tuple[str, str] = ("", "")
    last_used: int = 0


def _shared_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


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
    ignore_eos: bool = False  # run to max_tokens through stop and end tokens (ChatRequest's)
    cache_scope: str = ""
    adapter: Adapter | None = None  # acquired by the submitter, released when the slot frees
    cancelled: bool = False
    slot: int = -1
    n_past: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV came from the slot's cache
    fed: list[int] = field(default_factory=list)  # tokens in the slot's KV cache, in order
    pending: list[int] = field(default_factory=list)
    generated: int = 0
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    @property
    def scope(self) -> tuple[str, str]:
        """Whose caches this sequence may share: its org's, computed with its adapter."""
        return self.cache_scope, self.adapter.path if self.adapter else ""


class BatchDecoder:
    """Runs the decode loop for up to ``slots`` sequences on one llama.cpp context."""

    def __init__(self, model: llama_cpp.llama_model_p, vocab: llama_cpp.llama_vocab_p,
                 slots: int, context_length: int, threads: int, batch_tokens: int = 512,
                 prefix_cache: bool = True, adapters: LoraAdapters | None = None):
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
        self._prefix_cache = prefix_cache
        self._adapters = adapters or LoraAdapters(model)
        self._turn: Adapter | None = None  # whose sequences the last step ran
        self._kept = [_KeptCache() for _ in range(slots)]
        self._admitted = 0  # sequences admitted so far: the clock of ``_KeptCache.last_used``
        self._inbox: queue.Queue[Sequence] = queue.Queue()
        self._closing = False
        self._piece = ctypes.create_string_buffer(256)
        self._thread = threading.Thread(target=self._run, name="hearth-decoder", daemon=True)
        self._thread.start()

    def submit(self, seq: Sequence) -> None:
        """Queue a sequence; the caller must not submit more than ``slots`` at once."""
        self._inbox.put(seq)

    def close(self) -> None:
        self._closing = True
        self._thread.join(timeout=10)
        for seq in self._slots:
            if seq is not None:
                self._release(seq)
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self._ctx)

    # -- the loop, on the decoder thread -------------------------------------------------

    def _run(self) -> None:
        while not self._closing:
            self._admit(block=not any(self._slots))
            self._retire_cancelled()
            self._adapters.free_unused(self._ctx)
            if any(self._slots):
                try:
                    self._step()
                except Exception as exc:  # never let one bad step kill the server
                    log.exception("decode step failed")
                    for seq in self._active():
                        seq.fed = []  # what the failed batch left in the cache is unknown
                        self._finish(seq, f"error: {exc}")

    def _active(self) -> list[Sequence]:
        return [s for s in self._slots if s is not None]

    def _admit(self, block: bool) -> None:
        try:
            while None in self._slots:
                seq = self._inbox.get(timeout=0.05) if block else self._inbox.get_nowait()
                block = False
                self._place(seq)
        except queue.Empty:
            pass

    def _place(self, seq: Sequence) -> None:
        """Put ``seq`` in the free slot whose kept cache shares the longest prefix with its
        prompt (of its scope), else the one used longest ago, and drop the rest of that cache."""
        free = [slot for slot, running in enumerate(self._slots) if running is None]

        def reuse(slot: int) -> int:
            kept = self._kept[slot]
            if kept.scope != seq.scope:
                return 0
            shared = _shared_prefix(kept.tokens, seq.prompt)
            # A prompt that shares only the chat template's first tokens would throw away a
            # cache worth keeping for the prompt it came from.
            return shared if shared >= WORTH_REUSING * len(kept.tokens) else 0

        slot = max(free, key=lambda s: (reuse(s), -self._kept[s].last_used))
        # At least the prompt's last token is decoded again: its logits give the first token.
        limit = len(seq.prompt) - 1
        kept = self._kept[slot]
        cached = (min(_shared_prefix(kept.tokens, seq.prompt), limit)
                  if kept.scope == seq.scope else 0)
        if cached and not self._cut(slot, cached):
            cached = 0
        borrowed, donor = self._best_donor(seq, slot, limit)
        if borrowed > cached and self._borrow(donor, slot, borrowed):
            cached = borrowed
        elif not cached:
            llama_cpp.llama_memory_seq_rm(self._memory, slot, -1, -1)
        self._admitted += 1
        self._kept[slot] = _KeptCache(last_used=self._admitted)
        seq.slot, seq.n_past, seq.cached_tokens = slot, cached, cached
        seq.fed = seq.prompt[:cached]
        seq.pending = seq.prompt[cached:]
        self._slots[slot] = seq

    def _best_donor(self, seq: Sequence, slot: int, limit: int) -> tuple[int, int]:
        """The longest prefix of ``seq``'s prompt (at most ``limit`` tokens) that another slot
        of its scope holds, and that slot; (0, -1) when none holds any."""
        best, donor = 0, -1
        if not self._prefix_cache:
            return best, donor
        for other, running in enumerate(self._slots):
            if other == slot:
                continue
            if running is not None:
                tokens, scope = running.fed, running.scope
            else:
                tokens, scope = self._kept[other].tokens, self._kept[other].scope
            if scope != seq.scope:
                continue
            shared = min(_shared_prefix(tokens, seq.prompt), limit)
            if shared > best:
                best, donor = shared, other
        return best, donor

    def _borrow(self, donor: int, slot: int, length: int) -> bool:
        """Make ``slot`` hold exactly the first ``length`` cells of ``donor``; False (and an
        empty slot) where the memory cannot share them (a sliding window has dropped some)."""
        llama_cpp.llama_memory_seq_rm(self._memory, slot, -1, -1)
        llama_cpp.llama_memory_seq_cp(self._memory, donor, slot, 0, length)
        if (llama_cpp.llama_memory_seq_pos_min(self._memory, slot) == 0
                and llama_cpp.llama_memory_seq_pos_max(self._memory, slot) == length - 1):
            return True
        llama_cpp.llama_memory_seq_rm(self._memory, slot, -1, -1)
        return False

    def _cut(self, slot: int, keep: int) -> bool:
        """Drop the slot's cache from position ``keep`` on; False when what is left cannot be
        reused: a memory that cannot cut a sequence short (recurrent models), or one that has
        dropped its oldest positions (sliding-window attention keeps only the last window)."""
        return bool(llama_cpp.llama_memory_seq_rm(self._memory, slot, keep, -1)) and \
            llama_cpp.llama_memory_seq_pos_min(self._memory, slot) <= 0

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
        active = self._of_next_adapter()
        generating = [s for s in active if s.generated > 0 or len(s.pending) == 0]
        prefilling = [s for s in active if s not in generating]
        for seq in generating + prefilling:
            room = self._batch_tokens - batch.n_tokens
            if room <= 0:
                break
            chunk = seq.pending[:room]
            seq.fed += chunk
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

    def _of_next_adapter(self) -> list[Sequence]:
        """The running sequences of the adapter whose turn it is, that adapter set on the
        context. The adapters in use take one step each in turn, in the order of their first
        slots; with one adapter (or the base alone) in use, nothing ever switches."""
        active = self._active()
        order = list(dict.fromkeys(seq.adapter for seq in active))
        after = order.index(self._turn) + 1 if self._turn in order else 0
        self._turn = order[after % len(order)]
        self._adapters.apply(self._ctx, self._turn)
        return [seq for seq in active if seq.adapter is self._turn]

    def _advance(self, seq: Sequence, token: int) -> None:
        if not seq.ignore_eos and (token in seq.stop_tokens
                                   or llama_cpp.llama_vocab_is_eog(self._vocab, token)):
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
        """Free the slot, keeping what its KV cache holds for the next prompt that starts
        the same way."""
        kept = seq.fed if self._prefix_cache else []
        llama_cpp.llama_memory_seq_rm(self._memory, seq.slot, len(kept), -1)
        self._kept[seq.slot] = _KeptCache(kept, seq.scope, self._kept[seq.slot].last_used)
        llama_cpp.llama_sampler_free(seq.sampler)
        if seq.adapter is not None:
            self._adapters.release(seq.adapter)
        self._slots[seq.slot] = None
