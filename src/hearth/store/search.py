"""What a memory search index is, whichever database holds it.

SQLite keeps memories searchable with FTS5 and sqlite-vec (``search_sqlite``), PostgreSQL
with tsvector and pgvector (``search_postgres``). Both modules offer the functions of
``SearchIndex``, so ``hearth.store.memories`` picks one by the database and reads the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from hearth.store.owner import Owner
from hearth.store.stopwords import STOP_WORDS

Embedding = Sequence[float] | np.ndarray

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def question_words(question: str, *, drop_stop_words: bool = False) -> list[str]:
    """The words a full-text search looks for, lowercased and sorted: letters and digits
    only, so no word can be read as query syntax; one-letter words say too little. With
    ``drop_stop_words``, the function words of ``hearth.store.stopwords`` are left out too."""
    words = {w.lower() for w in _WORD.findall(question) if len(w) > 1}
    return sorted(words - STOP_WORDS if drop_stop_words else words)


@dataclass(frozen=True)
class IndexEntry:
    """What the indexes hold of one memory: its words and its meaning."""

    memory_id: int
    text: str
    embedding: Embedding


class SearchIndex(Protocol):
    """The full-text and vector indexes of memories, written in the caller's transaction."""

    def index(self, session: Session, owner: Owner, entry: IndexEntry) -> None:
        """Index a memory, replacing what was indexed of it before."""

    def index_new(self, session: Session, owner: Owner, entries: Sequence[IndexEntry]) -> None:
        """Index memories that were never indexed, in set-based statements (bulk inserts)."""

    def unindex(self, session: Session, ids: list[int]) -> None:
        """Remove memories from the indexes, leaving no trace of their words; called before
        their rows are deleted."""

    def fulltext(self, session: Session, owner: Owner, words: list[str],
                 limit: int) -> list[tuple[int, float]]:
        """(memory id, score; higher is better) of the owner's memories with any of the words,
        best first, superseded memories included."""

    def vectors_of(self, session: Session, ids: Sequence[int]) -> list[np.ndarray]:
        """The indexed vectors of these memories (those that have one), in no set order."""

    def nearest(self, session: Session, owner: Owner, embedding: Embedding, limit: int,
                compared: int | None = None, *, committed_only: bool = False,
                ) -> list[tuple[int, float]]:
        """(memory id, cosine similarity) of the owner's nearest memories, best first.

        ``compared``: how many candidates an approximate index compares exactly (None: its
        default); an exact index ignores it. ``committed_only``: the session has written
        nothing, so the index may also read through connections of its own."""
