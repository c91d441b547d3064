"""Reference retrievers over raw turns, measured next to hearth in the same run.

Neither extracts, consolidates or knows about time: each indexes every turn of a conversation
as it was said (``"Speaker: text"``) and ranks turns against the question. They are what a
memory layer must beat to be worth having.

- ``BM25Baseline``: Okapi BM25 (``bm25s``, Lucene variant, k1 = 1.5, b = 0.75) over words of
  two or more letters, lower-cased, English stop words removed, Snowball English stems
  (``PyStemmer``), as a search engine's English analyser would. Turns that share no stem with
  the question are never returned.
- ``MiniLMBaseline``: cosine similarity of all-MiniLM-L6-v2 embeddings (hearth's own embedder,
  so the same model, int8 weights and normalisation as production), every turn ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from hearth.bench.locomo import Turn


def render_turn(turn: Turn) -> str:
    """A raw turn as a transcript line: what is indexed, returned and counted in the budget."""
    return f"{turn.speaker}: {turn.text}"


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


class BM25Baseline:
    """Okapi BM25 over one conversation's turns."""

    name = "bm25"

    def __init__(self) -> None:
        import Stemmer  # PyStemmer; like bm25s, a benchmark-only dependency

        self._stemmer = Stemmer.Stemmer("english")
        self._turns: list[Turn] = []
        self._retriever = None

    def _words(self, texts: list[str], *, ids: bool) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, return_ids=ids,
                              show_progress=False)

    def index(self, turns: Sequence[Turn]) -> None:
        import bm25s

        self._turns = list(turns)
        self._retriever = bm25s.BM25()
        self._retriever.index(self._words([render_turn(t) for t in self._turns], ids=True),
                              show_progress=False)

    def search(self, question: str, k: int) -> list[Turn]:
        """The k best-scoring turns, best first; fewer when fewer share a word with it."""
        if self._retriever is None or not self._turns:
            return []
        # Plain word lists: the retriever maps them onto its own vocabulary.
        words = self._words([question], ids=False)
        if not words[0]:
            return []
        ids, scores = self._retriever.retrieve(words, k=min(k, len(self._turns)),
                                               show_progress=False, n_threads=1)
        return [self._turns[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


class MiniLMBaseline:
    """Cosine similarity of MiniLM embeddings between the question and every turn."""

    name = "minilm"

    def __init__(self, embedder: Embedder | None = None) -> None:
        if embedder is None:
            from hearth.memory.embedder import shared_embedder

            embedder = shared_embedder()
        self._embedder = embedder
        self._turns: list[Turn] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)

    def index(self, turns: Sequence[Turn]) -> None:
        self._turns = list(turns)
        self._vectors = self._embedder.embed([render_turn(t) for t in self._turns])

    def search(self, question: str, k: int) -> list[Turn]:
        """The k most similar turns, most similar first (ties: earlier turn first)."""
        if not self._turns:
            return []
        similarity = self._vectors @ self._embedder.embed([question])[0]
        order = np.argsort(-similarity, kind="stable")[:k]
        return [self._turns[int(i)] for i in order]
