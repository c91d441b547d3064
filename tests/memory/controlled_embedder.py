"""An embedder whose vectors the test chooses, for tests of ranking rules.

A rule that reorders memories by a few hundredths of a score (a neighbour's lift, the lean away
from the owner's mean vector) cannot be tested on the real model's vectors: which of two
sentences is nearer a question is decided there by digits that move with ONNX Runtime's and
torch's versions. Here each text's vector is written by the test, with margins far above float
noise, and reaches recall through the real ``Embedder`` interface (``embed_each``, which
``embed`` and ``embed_one`` call), so the whole recall path runs as it does in production.
Quality on real vectors is the memory benchmark's job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from hearth.memory.embedder import DIMENSIONS, Embedder


def direction(*parts: tuple[int, float]) -> np.ndarray:
    """A unit vector from (axis, weight) pairs, e.g. ``direction((0, 0.6), (1, 0.8))``."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    for axis, weight in parts:
        vector[axis] += weight
    return vector / np.linalg.norm(vector)


class ControlledEmbedder(Embedder):
    """Gives each known text the vector the test mapped it to; an unknown text is an error,
    so a test never ranks by a vector it did not choose."""

    def __init__(self, vectors: Mapping[str, np.ndarray]) -> None:
        super().__init__()
        self.vectors = dict(vectors)

    def embed_each(self, texts: list[str]) -> Iterator[np.ndarray]:
        for text in texts:
            if text not in self.vectors:
                raise KeyError(f"no vector chosen for {text!r}")
            yield self.vectors[text]
