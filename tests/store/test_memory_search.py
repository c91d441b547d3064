"""The memory store's search indexes, on SQLite (FTS5, sqlite-vec) and PostgreSQL (tsvector,
pgvector): the same writes make the same memories findable, and forgetting unfinds them.

Embeddings here are made-up unit vectors: what is tested is that the index finds the nearest
stored vector, not what a model thinks is near.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from hearth.store import memories as store
from hearth.store import search_sqlite
from hearth.store.db import Database
from hearth.store.memories import NewMemory, Owner, SourceRef
from hearth.store.search import SearchIndex, question_words
from hearth.store.stopwords import STOP_WORDS

ANNA = Owner("acme", "anna")
BEN = Owner("acme", "ben")
WHEN = datetime(2024, 5, 1, tzinfo=UTC)
DIMENSIONS = 384


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def add(db: Database, owner: Owner, text: str, seed: int) -> int:
    return store.add_memory(db, owner, kind="fact", text=text, embedding=unit(seed),
                            observed_at=WHEN).id


def found(db: Database, owner: Owner, question: str) -> list[int]:
    return [i for i, _ in store.fulltext_search(db, owner, question)]


def test_full_text_finds_any_of_the_words_stemmed_with_the_most_matching_first(
    db: Database,
) -> None:
    walks = add(db, ANNA, "Anna walks her dog by the river", 1)
    runs = add(db, ANNA, "Anna runs a marathon every spring", 2)
    both = add(db, ANNA, "Anna runs with her dog along the river", 3)

    assert set(found(db, ANNA, "running")) == {runs, both}
    assert found(db, ANNA, "Does she go running with the dog?")[0] == both
    assert set(found(db, ANNA, "dogs or marathons")) == {walks, runs, both}
    assert found(db, ANNA, "!!! ?") == []
    assert found(db, ANNA, "cello") == []


def test_vector_search_ranks_the_owners_memories_by_cosine_similarity(db: Database) -> None:
    ids = [add(db, ANNA, f"memory {seed}", seed) for seed in range(5)]
    add(db, BEN, "Ben's memory with Anna's first vector", 0)

    nearest = store.vector_search(db, ANNA, unit(3), limit=3)

    assert nearest[0][0] == ids[3]
    assert nearest[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in nearest] == sorted((s for _, s in nearest), reverse=True)
    assert len(nearest) == 3
    assert {i for i, _ in store.vector_search(db, ANNA, unit(0), limit=50)} == set(ids)


def test_searches_never_cross_owners(db: Database) -> None:
    add(db, ANNA, "Anna grows tomatoes", 1)
    bens = add(db, BEN, "Ben grows tomatoes", 1)

    assert found(db, BEN, "tomatoes") == [bens]
    assert [i for i, _ in store.vector_search(db, BEN, unit(1))] == [bens]


def test_an_edit_reindexes_the_words_and_the_vector(db: Database) -> None:
    memory = add(db, ANNA, "Anna plays the violin", 1)

    store.update_memory(db, ANNA, memory, text="Anna plays the trombone", embedding=unit(9))

    assert found(db, ANNA, "violin") == []
    assert found(db, ANNA, "trombone") == [memory]
    assert store.vector_search(db, ANNA, unit(9), limit=1)[0][0] == memory


def test_bulk_inserts_are_searchable_and_later_memories_get_new_ids(db: Database) -> None:
    batch = [NewMemory(kind="event", text=f"Anna visited museum {n}", embedding=unit(n),
                       observed_at=WHEN) for n in range(10, 13)]

    ids = store.add_memories_bulk(db, ANNA, batch)
    later = add(db, ANNA, "Anna visited the zoo", 20)

    assert len(set(ids)) == 3 and later not in ids
    assert [m.text for m in store.get_many(db, ANNA, ids)] == [m.text for m in batch]
    assert set(found(db, ANNA, "museum")) == set(ids)
    assert store.vector_search(db, ANNA, unit(11), limit=1)[0][0] == ids[1]


def test_a_forgotten_memory_is_found_by_neither_search(db: Database) -> None:
    forgotten = add(db, ANNA, "Anna's PIN is hidden in the teapot", 1)
    kept = add(db, ANNA, "Anna's teapot is blue", 2)

    store.delete_memory(db, ANNA, forgotten)

    assert found(db, ANNA, "teapot hidden") == [kept]
    assert [i for i, _ in store.vector_search(db, ANNA, unit(1))] == [kept]


def test_get_many_keeps_the_order_asked_brings_sources_and_skips_other_owners(
    db: Database,
) -> None:
    first = store.add_memory(db, ANNA, kind="fact", text="Anna keeps bees", embedding=unit(1),
                             observed_at=WHEN, sources=[SourceRef(ref="a"), SourceRef(ref="b")])
    store.update_memory(db, ANNA, first.id, pinned=True, importance=0.9)
    second = add(db, ANNA, "Anna sells honey", 2)
    bens = add(db, BEN, "Ben buys honey", 3)

    found = store.get_many(db, ANNA, [second, bens, first.id])

    assert [m.id for m in found] == [second, first.id]
    assert found[1] == store.get_memory(db, ANNA, first.id)  # every field, times in UTC
    assert found[1].pinned is True and found[1].observed_at.tzinfo is not None
    assert [s.ref for s in found[1].sources] == ["a", "b"]


def exact_nearest(vectors: dict[int, np.ndarray], query: np.ndarray,
                  limit: int) -> list[tuple[int, float]]:
    """Brute-force cosine similarity of unit vectors, best first."""
    scored = sorted(((i, float(v @ query)) for i, v in vectors.items()),
                    key=lambda hit: hit[1], reverse=True)
    return scored[:limit]


def test_vector_search_of_a_few_hundred_memories_is_exact(db: Database) -> None:
    # Fewer memories than the binary prefilter keeps: every one is compared by cosine.
    vectors = {n: unit(n) for n in range(300)}
    ids = store.add_memories_bulk(db, ANNA, [
        NewMemory(kind="fact", text=f"memory {n}", embedding=v, observed_at=WHEN)
        for n, v in vectors.items()])
    by_id = dict(zip(ids, vectors.values(), strict=True))

    for seed in (1000, 1001, 1002):
        query = unit(seed)
        found = store.vector_search(db, ANNA, query, limit=20)
        expected = exact_nearest(by_id, query, 20)
        assert [i for i, _ in found] == [i for i, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_vector_search_beyond_the_prefilter_still_finds_what_is_nearest(db: Database) -> None:
    # 2,000 memories, in clusters of near-duplicates: more than the prefilter compares by
    # cosine, so the sign bits choose which are compared.
    rng = np.random.default_rng(7)
    centres = [unit(10_000 + c) for c in range(40)]
    vectors = []
    for n in range(2000):
        noisy = centres[n % 40] + rng.normal(0.0, 0.05, DIMENSIONS).astype(np.float32)
        vectors.append(noisy / np.linalg.norm(noisy))
    ids = store.add_memories_bulk(db, ANNA, [
        NewMemory(kind="fact", text=f"memory {n}", embedding=v, observed_at=WHEN)
        for n, v in enumerate(vectors)])
    by_id = dict(zip(ids, vectors, strict=True))

    for target in (5, 777, 1999):
        found = store.vector_search(db, ANNA, vectors[target], limit=10)
        expected = exact_nearest(by_id, vectors[target], 10)
        assert found[0] == (ids[target], pytest.approx(1.0, abs=1e-5))
        assert [i for i, _ in found] == [i for i, _ in expected]
        # On SQLite vector_search reads half the shards in another thread; a search inside
        # a transaction (which must see its own writes) reads them all on its connection.
        with db.session() as session:
            assert store.vector_search_in(session, ANNA, vectors[target], limit=10) == found


def test_a_search_for_a_few_candidates_finds_a_near_twin_in_any_shard(db: Database) -> None:
    # A duplicate check asks for a handful of candidates, which SQLite's index takes from all
    # of the owner's shards in one query: the twin is found whichever shard holds it, and
    # never in another owner's memories, even where theirs is the very same vector.
    rng = np.random.default_rng(11)
    vectors = [unit(20_000 + n) for n in range(600)]
    ids = store.add_memories_bulk(db, ANNA, [
        NewMemory(kind="fact", text=f"memory {n}", embedding=v, observed_at=WHEN)
        for n, v in enumerate(vectors)])
    store.add_memories_bulk(db, BEN, [
        NewMemory(kind="fact", text=f"ben {n}", embedding=v, observed_at=WHEN)
        for n, v in enumerate(vectors[:search_sqlite.SHARDS])])

    for target in range(search_sqlite.SHARDS):  # consecutive ids: one in every shard
        noise = rng.standard_normal(DIMENSIONS).astype(np.float32)
        noise -= (noise @ vectors[target]) * vectors[target]
        twin = 0.94 * vectors[target] + np.sqrt(1 - 0.94**2) * noise / np.linalg.norm(noise)
        with db.session() as session:
            hits = store.vector_search_in(session, ANNA, twin, limit=2, compared=8)
        assert hits[0] == (ids[target], pytest.approx(0.94, abs=1e-4))


def test_replaced_vectors_are_searched_and_an_edit_made_meanwhile_is_kept(db: Database) -> None:
    bees = add(db, ANNA, "Anna keeps bees", 1)
    galway = add(db, ANNA, "Anna moved to Galway", 2)
    stamps = add(db, BEN, "Ben collects stamps", 3)
    page = store.texts_after(db, 0, 10)
    assert [(m.owner, m.memory_id) for m in page] == [(ANNA, bees), (ANNA, galway), (BEN, stamps)]
    assert store.texts_after(db, galway, 10) == page[2:] and store.count_all(db) == 3
    store.update_memory(db, ANNA, galway, text="Anna moved to Cork", embedding=unit(20))

    assert store.replace_vectors(db, page, [unit(10), unit(11), unit(12)]) == 2

    assert store.vector_search(db, ANNA, unit(10), limit=1)[0] == (bees, pytest.approx(1.0))
    assert store.vector_search(db, ANNA, unit(20), limit=1)[0] == (galway, pytest.approx(1.0))
    assert store.vector_search(db, BEN, unit(12), limit=1)[0] == (stamps, pytest.approx(1.0))
    assert found(db, ANNA, "bees") == [bees]  # the text is indexed as before
    mean = store.mean_vector(db, ANNA)
    np.testing.assert_allclose(mean, (unit(10) + unit(20)) / 2, atol=1e-6)


def test_question_words_leave_out_stop_words_only_when_asked() -> None:
    question = "What did my sister Alice learn in Lisbon?"

    assert question_words(question) == ["alice", "did", "in", "learn", "lisbon", "my",
                                        "sister", "what"]
    assert question_words(question, drop_stop_words=True) == ["alice", "learn", "lisbon",
                                                             "sister"]
    assert question_words("What did you do?", drop_stop_words=True) == []


def test_stop_words_never_reach_the_index_once_an_owner_has_many_memories(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[str]] = []
    real_index = store._search_index

    class Spy:
        """The real index, noting the words of each full-text search."""

        def __init__(self, session: Session) -> None:
            self.real: SearchIndex = real_index(session)

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

        def fulltext(self, session: Session, owner: Owner, words: list[str],
                     limit: int) -> list[tuple[int, float]]:
            asked.append(words)
            return self.real.fulltext(session, owner, words, limit)

    monkeypatch.setattr(store, "_search_index", Spy)
    monkeypatch.setattr(store, "STOP_WORDS_FROM", 3)
    for n in range(2):
        add(db, ANNA, f"Anna learnt Portuguese in Lisbon, lesson {n}", n)

    store.fulltext_search(db, ANNA, "What did Anna learn in Lisbon?")
    add(db, ANNA, "Anna moved to Porto", 3)
    hits = store.fulltext_search(db, ANNA, "What did Anna learn in Lisbon?")

    assert asked == [["anna", "did", "in", "learn", "lisbon", "what"],
                     ["anna", "learn", "lisbon"]]
    assert len(hits) == 3
    assert store.fulltext_search(db, ANNA, "What did you do?") == []
    assert len(asked) == 2


def test_sqlite_ranks_the_rarest_words_when_ranking_all_would_cost_too_much(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's full-text index ranks within a budget")
    trees = [add(db, ANNA, f"Anna planted a tree, number {n}", n) for n in range(4)]
    oak = add(db, ANNA, "Anna planted an oak tree", 9)
    for n in range(6):  # another owner's oaks count only for that owner
        add(db, BEN, f"Ben planted an oak, number {n}", 20 + n)
    assert set(found(db, ANNA, "Which oak tree did Anna plant?")) == {*trees, oak}

    monkeypatch.setattr(search_sqlite, "RANKED_MAX", 4)

    assert found(db, ANNA, "Which oak tree did Anna plant?") == [oak]
    assert found(db, ANNA, "Did Anna plant a tree?") == []
    assert found(db, BEN, "oak") == []


def test_writing_several_memories_in_one_transaction_reads_the_owner_number_once(
    sqlite_db: Database,
) -> None:
    add(sqlite_db, ANNA, "Anna's first memory gives her a number", 1)
    lookups = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("SELECT number FROM memory_owners"):
            lookups.append(parameters)

    with sqlite_db.locked_session() as session:
        event.listen(session.connection().engine, "before_cursor_execute", count)
        try:
            for n in range(3):
                store.add_memory_in(session, ANNA, kind="fact", text=f"Anna note {n}",
                                    embedding=unit(10 + n), observed_at=WHEN)
            for n in range(2):
                store.add_memory_in(session, BEN, kind="fact", text=f"Ben note {n}",
                                    embedding=unit(20 + n), observed_at=WHEN)
        finally:
            event.remove(session.connection().engine, "before_cursor_execute", count)
    # Anna's once; Ben's before and after he is given one, and not for his second note.
    assert len(lookups) == 1 + 2
    assert len(found(sqlite_db, ANNA, "note")) == 3
    assert len(found(sqlite_db, BEN, "note")) == 2


def test_a_question_of_thousands_of_words_is_still_searched(db: Database) -> None:
    # A pasted document as the message recall searches for: more words than SQLite allows
    # columns in one result, where the words' memories are counted.
    oak = add(db, ANNA, "Anna planted an oak", 1)
    question = " ".join(f"word{n}" for n in range(3000)) + " oak"

    assert found(db, ANNA, question) == [oak]


def test_the_stop_words_are_those_postgresql_leaves_out(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("asks PostgreSQL's english dictionary")
    with db.session() as session:
        kept = [w for w in sorted(STOP_WORDS)
                if session.scalar(sql_text("SELECT ts_lexize('english_stem', :w)"), {"w": w})]

    assert kept == []
    assert len(STOP_WORDS) == 127  # the whole of PostgreSQL's english.stop
