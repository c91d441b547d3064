"""The memory system's front door: remember a message, recall for a question.

The same ``remember`` runs in production (from the background worker) and in the memory
benchmark, so what the benchmark measures is what users get.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import chain

import numpy as np

from hearth.memory.consolidate import Outcome, consolidate
from hearth.memory.dates import without_written_dates
from hearth.memory.embedder import Embedder, shared_embedder
from hearth.memory.extract import Candidate, extract
from hearth.memory.recall import RecalledMemory, recall
from hearth.store import memories as store
from hearth.store import vector_recipe
from hearth.store.db import Database
from hearth.store.memories import MemoryRecord, Owner, SourceRef

Extractor = Callable[..., list[Candidate]]
"""``extract``'s signature: the rules, or ``hearth.memory.llm_extract.LLMExtractor``."""


def vector_text(memory_text: str) -> str:
    """What a memory's vector is made of: what it says, without the dates written into it. A
    date says when, not what, and in a vector it only blurs the meaning (LoCoMo dev, 183 of
    2,522 memories dated: recall@5 0.708 to 0.723, @10 0.794 to 0.798). Every path that
    stores a memory embeds this, so an imported memory gets the vector its original had."""
    return without_written_dates(memory_text)


class MemoryService:
    def __init__(self, db: Database, embedder: Embedder | None = None,
                 extractor: Extractor = extract):
        self.db = db
        self.embedder = embedder or shared_embedder()
        self.extractor = extractor

    def remember(self, owner: Owner, text: str, *, speaker: str, said_at: datetime,
                 source: SourceRef, previous: str | None = None,
                 previous_speaker: str | None = None,
                 previous_source: SourceRef | None = None) -> list[Outcome]:
        """Extract what a message says about its speaker and consolidate it into memory.

        ``previous`` is the other party's message just before; a memory that quotes it (a
        bare answer made standalone) cites it as a source too.
        """
        candidates = self.extractor(text, speaker=speaker, said_at=said_at, previous=previous,
                             previous_speaker=previous_speaker)
        if not candidates:
            return []
        # Each memory is consolidated as soon as its vector is ready, while the model runs on
        # the next ones: the database work fills a core that would otherwise wait (LoCoMo dev
        # ingest per turn, in one process taken turn by turn: p95 30.4 to 29.2 and 29.7 to
        # 28.8 ms). The write lock waits for the first vector.
        vectors = self.embedder.embed_each([vector_text(c.text) for c in candidates])
        first = next(vectors)
        # One transaction for the whole message, holding the write lock so that another
        # worker cannot slip a duplicate in between the check and the write. Relaxed
        # durability loses nothing: the job that asked for this is deleted by a later, fully
        # synced commit, so if a power cut took this one it took that one too, and the job
        # runs again.
        with self.db.locked_session(relaxed=True) as session:
            return [consolidate(session, owner, candidate, vector,
                                [source, previous_source]
                                if candidate.quotes_previous and previous_source else [source])
                    for candidate, vector in zip(candidates, chain([first], vectors))]

    def embed_memories(self, texts: list[str]) -> np.ndarray:
        """Memory texts' vectors, each of its ``vector_text``."""
        return self.embedder.embed([vector_text(text) for text in texts])

    def embed_all_again(self, *, page: int = 256,
                        progress: Callable[[int], None] = lambda count: None) -> int:
        """Give every stored memory, every owner's, its vector from this embedder, a page per
        transaction; returns how many were replaced. For an upgrade that embeds differently:
        old vectors keep working (the float32 model's are at cosine 0.99 to the int8 model's),
        but only new ones are what a question is compared with in the benchmark. Vectors of
        memories stored before dates were left out of them lose their dates too. ``progress``
        hears each page's size."""
        after, replaced = 0, 0
        while batch := store.texts_after(self.db, after, page):
            replaced += store.replace_vectors(self.db, batch,
                                              self.embed_memories([m.text for m in batch]))
            after = batch[-1].memory_id
            progress(len(batch))
        vector_recipe.record_recipe(self.db, self.embedder.recipe())
        return replaced

    def vector_recipe_mismatch(self) -> str | None:
        """A line to show when the stored vectors were made by another embedder recipe than
        this one's (``Embedder.recipe``), naming the command that embeds them again; None when
        they match. A database without memories takes this recipe as its own."""
        current = self.embedder.recipe()
        recorded = vector_recipe.recorded_recipe(self.db)
        if recorded == current:
            return None
        if not store.count_all(self.db):
            vector_recipe.record_recipe(self.db, current)
            return None
        made_by = f"by {recorded}" if recorded else "by an earlier hearth that did not record how"
        return (f"The stored memory vectors were made {made_by}, not by this hearth's embedder "
                f"({current}): recall still works, a little less well. Run `hearth memory "
                "reembed` once to embed them again.")

    def recall(self, owner: Owner, question: str, *, now: datetime | None = None,
               limit: int = 10, token_budget: int | None = None) -> list[RecalledMemory]:
        return recall(self.db, owner, question, self.embedder.embed_one, now=now,
                      limit=limit, token_budget=token_budget)

    def add(self, owner: Owner, *, text: str, kind: str, observed_at: datetime,
            importance: float = 0.5, pinned: bool = False,
            sources: list[SourceRef] | None = None) -> MemoryRecord:
        """A memory the user states directly (API or import), stored as given."""
        return store.add_memory(self.db, owner, kind=kind, text=text,
                                embedding=self.embed_memories([text])[0], observed_at=observed_at,
                                valid_from=observed_at, importance=importance, pinned=pinned,
                                sources=sources or [])

    def edit(self, owner: Owner, memory_id: int, *, text: str | None = None,
             kind: str | None = None, importance: float | None = None,
             pinned: bool | None = None) -> MemoryRecord:
        embedding = self.embed_memories([text])[0] if text is not None else None
        return store.update_memory(self.db, owner, memory_id, text=text, embedding=embedding,
                                   kind=kind, importance=importance, pinned=pinned)
