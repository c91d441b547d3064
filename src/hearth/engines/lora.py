"""LoRA adapters on one loaded base: each GGUF adapter is loaded once, shared by every request
that names it, and applied to the decoder's one context for the steps that run its sequences.

Several adapters share one base this way: the base weights are loaded once, an adapter adds only
its own small tensors (r=8 on every linear layer of Qwen2.5-Coder-0.5B: 4.4 M parameters, 8.8 MB
in f16), and all of them share the one context and its KV cache. llama.cpp applies adapters to a
whole context, not to a sequence, so a decode step runs the sequences of one adapter (or of the
base) only; the decoder takes the adapters in turn (``BatchDecoder._step``). A sequence's KV
cells stay valid across switches, since they were computed with its own adapter and only its own
sequence attends to them; prefix caches are never offered across adapters, because the same
tokens give other keys and values under another adapter.

Measured on Qwen2.5-Coder-0.5B (Q4_K_M), 2 threads on a quiet 2-core machine, 64 greedy tokens
each (``bench.adapter_speed``, medians of 3 alternating runs), random r=8 adapters scaled down so
the text stays the base's: 0.93x the bare base's tokens/s on every linear layer, 0.93x on the
MLP alone, 1.01x on q/v alone. The MLP's adapters (the widest matrices) are the cost, not the
number of adapted layers. A trained r=8 adapter read 0.89-0.92x (``hearth bench tune``), and
a trained r=16 one 0.87-0.89x. Loading an adapter took 16-21 ms (file in the page cache);
setting another adapter on the context 0.09 ms, and the decode step after a switch took 118 ms
against 110 ms without one (medians of 60 one-token steps, a busy machine, an earlier session).

The other design, a context per adapter on the same weights, would keep an adapter's steps
batched apart without switching, but gives each adapter a KV cache of its own (the memory of
``parallel`` × the context again) and a decoder thread of its own competing for the same cores.

Lifetime: an adapter is loaded on the first request for it and stays loaded; ``forget`` (its
model was deleted) frees it once no sequence uses it, on the decoder's thread, which is the only
thread that sets the context's adapters.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import llama_cpp

from hearth.errors import ModelFileError


@dataclass(eq=False)
class Adapter:
    """A loaded adapter; ``users`` counts the sequences submitted with it and not yet gone."""

    path: str
    handle: ctypes.c_void_p
    users: int = 0


class LoraAdapters:
    """The adapters loaded on one model, by file path."""

    def __init__(self, model: llama_cpp.llama_model_p):
        self._model = model
        self._loaded: dict[str, Adapter] = {}
        self._forgotten: list[Adapter] = []
        self._lock = threading.Lock()  # guards the dict, the list and the counters
        self._loading = threading.Lock()  # one load at a time; counters stay free meanwhile
        self._applied: Adapter | None = None  # on the context; decoder thread only

    def acquire(self, path: str) -> Adapter:
        """The adapter at ``path``, loaded on first use (blocking: call it off the event loop);
        the caller's sequence must ``release`` it when it leaves."""
        with self._lock:
            adapter = self._loaded.get(path)
            if adapter is not None:
                adapter.users += 1
                return adapter
        with self._loading:
            with self._lock:
                adapter = self._loaded.get(path)
            if adapter is None:
                adapter = Adapter(path, self._load(path))
            with self._lock:
                adapter = self._loaded.setdefault(path, adapter)
                adapter.users += 1
                return adapter

    def _load(self, path: str) -> ctypes.c_void_p:
        handle = llama_cpp.llama_adapter_lora_init(self._model, path.encode())
        if not handle:
            raise ModelFileError(f"The LoRA adapter {Path(path).name} could not be loaded on "
                                 "this base: it is damaged or was trained on another model.")
        return handle

    def release(self, adapter: Adapter) -> None:
        with self._lock:
            adapter.users -= 1

    def forget(self, path: str) -> None:
        """Unload the adapter at ``path`` as soon as no sequence uses it; later requests for
        the path load it afresh (if the file is still there)."""
        with self._lock:
            adapter = self._loaded.pop(path, None)
            if adapter is not None:
                self._forgotten.append(adapter)

    # -- on the decoder thread ---------------------------------------------------------------

    def apply(self, ctx: llama_cpp.llama_context_p, adapter: Adapter | None) -> None:
        """Set ``adapter`` (None: the bare base) on the context, if it is not set already."""
        if adapter is self._applied:
            return
        if adapter is None:
            code = llama_cpp.llama_set_adapters_lora(ctx, None, 0, None)
        else:
            handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter.handle)
            code = llama_cpp.llama_set_adapters_lora(ctx, handles, 1, (ctypes.c_float * 1)(1.0))
        if code != 0:
            raise RuntimeError(f"llama_set_adapters_lora returned {code}")
        self._applied = adapter

    def free_unused(self, ctx: llama_cpp.llama_context_p) -> None:
        """Free the forgotten adapters no sequence uses any more."""
        with self._lock:
            idle = [adapter for adapter in self._forgotten if adapter.users == 0]
            self._forgotten = [adapter for adapter in self._forgotten if adapter.users > 0]
        for adapter in idle:
            if adapter is self._applied:
                self.apply(ctx, None)
            llama_cpp.llama_adapter_lora_free(adapter.handle)
