"""Memories never cross owners, and a forgotten memory leaves nothing behind.

One app (fake engine, real MiniLM embeddings) serves the module, once on a SQLite file and
once on PostgreSQL. The API reaches the "local" org only, so the owners in another org ("acme") are written and read
through the memory service and the store, on the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql
from typer.testing import CliRunner

from hearth.api.app import create_app
from hearth.cli.memory import app as memory_cli
from hearth.config import Settings
from hearth.errors import NotFound
from hearth.memory.service import MemoryService
from hearth.store import memories as store
from hearth.store import memory_export
from hearth.store.db import Database
from hearth.store.memories import Owner, SourceRef

ALICE = Owner("local", "alice")  # reachable through the API
BOB = Owner("acme", "bob")
ACME_ALICE = Owner("acme", "alice")  # the same user name in another org is someone else

# Words only one owner ever said.
WORDS = {ALICE: ("cardamom", "Tallinn"), BOB: ("saffron", "Zagreb"),
         ACME_ALICE: ("sumac", "Quito")}
SAID = {ALICE: ("My secret recipe uses cardamom.", "I live in Tallinn."),
        BOB: ("My secret recipe uses saffron.", "I live in Zagreb."),
        ACME_ALICE: ("My secret recipe uses sumac.", "I live in Quito.")}
EVERY_WORD = " ".join(w for words in WORDS.values() for w in words)


@dataclass
class World:
    client: TestClient
    service: MemoryService
    home: Path

    @property
    def db(self) -> Database:
        return self.service.db


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          module_database_url: str) -> Iterator[World]:
    home = tmp_path_factory.mktemp("home")
    app = create_app(Settings(home=home, database_url=module_database_url, engine="fake",
                              model="fake-model"))
    with TestClient(app) as client:
        yield World(client, app.state.memory, home)


def headers(owner: Owner) -> dict[str, str]:
    assert owner.org_id == "local", "the API reaches the local org only"
    return {"X-Hearth-User": owner.user_id}


def said_by(world: World, owner: Owner, text: str, conversation: str) -> list[int]:
    """Remember a message the way the worker does; returns the memories it touched."""
    outcomes = world.service.remember(
        owner, text, speaker=owner.user_id, said_at=datetime.now(UTC),
        source=SourceRef(conversation_id=conversation, excerpt=text))
    assert outcomes, f"nothing was remembered from {text!r}"
    return [o.memory.id for o in outcomes]


def foreign(owner: Owner) -> list[str]:
    return [w for other, words in WORDS.items() if other != owner for w in words]


def assert_only_own(owner: Owner, texts: list[str]) -> None:
    leaked = [t for t in texts for w in foreign(owner) if w.lower() in t.lower()]
    assert not leaked, f"{owner} was shown another owner's memories: {leaked}"


# -- isolation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def owned(world: World) -> dict[Owner, list[int]]:
    """Each owner's memories: a recipe stated directly and a home town remembered from chat."""
    ids: dict[Owner, list[int]] = {}
    for owner, (recipe, home) in SAID.items():
        if owner.org_id == "local":
            created = world.client.post("/v1/memories", headers=headers(owner),
                                        json={"text": recipe, "kind": "preference"})
            assert created.status_code == 201, created.text
            first = created.json()["id"]
        else:
            first = world.service.add(owner, text=recipe, kind="preference",
                                      observed_at=datetime.now(UTC)).id
        ids[owner] = [first, *said_by(world, owner, home, f"conv_{owner.org_id}_{owner.user_id}")]
    return ids


def test_a_list_never_shows_another_owners_memories(world: World,
                                                     owned: dict[Owner, list[int]]) -> None:
    listed = world.client.get("/v1/memories", headers=headers(ALICE),
                              params={"include_superseded": "true"}).json()["data"]

    assert sorted(m["id"] for m in listed) == sorted(owned[ALICE])
    for owner in (BOB, ACME_ALICE):
        records = store.list_memories(world.db, owner, include_superseded=True)
        assert sorted(r.id for r in records) == sorted(owned[owner])
        assert_only_own(owner, [r.text for r in records])


def test_a_search_never_returns_another_owners_memories(world: World,
                                                        owned: dict[Owner, list[int]]) -> None:
    found = world.client.get("/v1/memories/search", headers=headers(ALICE),
                             params={"q": f"secret recipe {EVERY_WORD}", "limit": 50}).json()

    assert {m["id"] for m in found["data"]} <= set(owned[ALICE])
    assert_only_own(ALICE, [m["text"] for m in found["data"]])
    for owner in WORDS:
        by_words = store.fulltext_search(world.db, owner, f"secret recipe live {EVERY_WORD}")
        assert {i for i, _ in by_words} == set(owned[owner])
        for other in WORDS:
            vector = world.service.embedder.embed_one(SAID[other][0])
            assert {i for i, _ in store.vector_search(world.db, owner, vector)} <= \
                set(owned[owner])


def test_recall_never_brings_back_another_owners_memories(world: World,
                                                          owned: dict[Owner, list[int]]) -> None:
    for owner in WORDS:
        for question in ("Where do I live?", "What is in my secret recipe?", EVERY_WORD):
            hits = world.service.recall(owner, question, limit=50)
            assert {hit.memory.id for hit in hits} <= set(owned[owner])
            assert_only_own(owner, [hit.memory.text for hit in hits])


def test_an_id_lookup_of_another_owners_memory_is_not_found(world: World,
                                                            owned: dict[Owner, list[int]]) -> None:
    client = world.client
    theirs = {memory_id: owner for owner in (BOB, ACME_ALICE) for memory_id in owned[owner]}
    for memory_id, owner in theirs.items():
        before = store.get_memory(world.db, owner, memory_id)
        for response in (
            client.get(f"/v1/memories/{memory_id}", headers=headers(ALICE)),
            client.get(f"/v1/memories/{memory_id}/sources", headers=headers(ALICE)),
            client.patch(f"/v1/memories/{memory_id}", headers=headers(ALICE),
                         json={"text": "overwritten", "pinned": True}),
            client.post(f"/v1/memories/{memory_id}/pin", headers=headers(ALICE)),
            client.delete(f"/v1/memories/{memory_id}", headers=headers(ALICE)),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "memory_not_found"
        with pytest.raises(NotFound):
            store.get_memory(world.db, ALICE, memory_id)
        assert store.get_memory(world.db, owner, memory_id) == before  # untouched
    assert store.get_many(world.db, ALICE, list(theirs)) == []
    with pytest.raises(NotFound):
        store.get_memory(world.db, BOB, owned[ACME_ALICE][0])


def test_an_export_holds_only_the_owners_memories(world: World,
                                                  owned: dict[Owner, list[int]]) -> None:
    exported = world.client.get("/v1/memories/export", headers=headers(ALICE)).json()

    assert sorted(m["id"] for m in exported["memories"]) == sorted(owned[ALICE])
    sources = [s["excerpt"] or "" for m in exported["memories"] for s in m["sources"]]
    assert_only_own(ALICE, [m["text"] for m in exported["memories"]] + sources)
    for owner in (BOB, ACME_ALICE):
        records = memory_export.all_memories(world.db, owner)
        assert sorted(r.id for r in records) == sorted(owned[owner])
        assert_only_own(owner, [r.text for r in records]
                        + [s.excerpt or "" for r in records for s in r.sources])


def test_forgetting_everything_about_a_user_leaves_the_same_name_in_another_org(
    world: World,
) -> None:
    local_carol, acme_carol = Owner("local", "carol"), Owner("acme", "carol")
    world.client.post("/v1/memories", headers=headers(local_carol),
                      json={"text": "Carol sails on Sundays", "kind": "fact"})
    kept = world.service.add(acme_carol, text="Carol sails on Sundays", kind="fact",
                             observed_at=datetime.now(UTC))

    forgotten = world.client.delete("/v1/memories", headers=headers(local_carol)).json()

    assert forgotten["deleted"] == 1
    assert [r.id for r in store.list_memories(world.db, acme_carol)] == [kept.id]
    assert [i for i, _ in store.fulltext_search(world.db, acme_carol, "sails")] == [kept.id]


# -- forgetting --------------------------------------------------------------------------------

FORGETTER = Owner("local", "forgetter")
RARE = "zanzibarian"
MARMALADE = ("I love zanzibarian marmalade on my toast every morning.",
             "My sister Oona makes zanzibarian marmalade every summer.")
KEPT = "I work as a nurse in Porto."


@dataclass(frozen=True)
class Forgotten:
    ids: list[int]
    kept: list[int]


@pytest.fixture(scope="module")
def forgotten(world: World) -> Forgotten:
    """Two marmalade memories, remembered from chat and found by recall; then one is forgotten
    through the API and the other through ``hearth memory forget``."""
    by_api = said_by(world, FORGETTER, MARMALADE[0], "conv_toast")
    by_cli = said_by(world, FORGETTER, MARMALADE[1], "conv_oona")
    kept = said_by(world, FORGETTER, KEPT, "conv_work")
    ids = sorted(set(by_api + by_cli))
    assert len(ids) >= 2 and not set(ids) & set(kept)
    recalled = {hit.memory.id for hit in world.service.recall(FORGETTER, "zanzibarian marmalade")}
    assert set(ids) <= recalled  # so "not recalled" below means something

    for memory_id in by_api:
        deleted = world.client.delete(f"/v1/memories/{memory_id}", headers=headers(FORGETTER))
        assert deleted.status_code == 204, deleted.text
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HEARTH_HOME", str(world.home))
        env.setenv("HEARTH_DATABASE_URL", world.db.url)
        for memory_id in by_cli:
            result = CliRunner().invoke(memory_cli, ["forget", str(memory_id), "--user",
                                                     FORGETTER.user_id])
            assert result.exit_code == 0, result.output
    return Forgotten(ids, kept)


def test_a_forgotten_memory_is_not_listed(world: World, forgotten: Forgotten) -> None:
    listed = world.client.get("/v1/memories", headers=headers(FORGETTER),
                              params={"include_superseded": "true"}).json()["data"]

    assert sorted(m["id"] for m in listed) == sorted(forgotten.kept)
    assert not [m for m in listed if RARE in m["text"]]


def test_a_forgotten_memory_cannot_be_read_by_id_or_asked_about(world: World,
                                                                forgotten: Forgotten) -> None:
    for memory_id in forgotten.ids:
        for path in (f"/v1/memories/{memory_id}", f"/v1/memories/{memory_id}/sources"):
            response = world.client.get(path, headers=headers(FORGETTER))
            assert response.status_code == 404, response.text


def test_a_forgotten_memory_is_not_found_by_full_text_search(world: World,
                                                             forgotten: Forgotten) -> None:
    assert store.fulltext_search(world.db, FORGETTER, "zanzibarian marmalade",
                                 include_superseded=True) == []
    found = world.client.get("/v1/memories/search", headers=headers(FORGETTER),
                             params={"q": "zanzibarian marmalade", "limit": 50}).json()["data"]
    assert not [m for m in found if m["id"] in forgotten.ids or RARE in m["text"]]


def test_a_forgotten_memory_is_not_found_by_vector_search(world: World,
                                                          forgotten: Forgotten) -> None:
    for text in MARMALADE:
        near = store.vector_search(world.db, FORGETTER, world.service.embedder.embed_one(text))
        assert {i for i, _ in near} == set(forgotten.kept)


def test_a_forgotten_memory_is_never_recalled(world: World, forgotten: Forgotten) -> None:
    for question in ("zanzibarian marmalade", "What do I like on my toast?",
                     "What does my sister make every summer?"):
        hits = world.service.recall(FORGETTER, question, limit=50)
        assert {hit.memory.id for hit in hits} <= set(forgotten.kept)
        assert not [hit for hit in hits if RARE in hit.memory.text]


def test_a_forgotten_memory_is_not_exported(world: World, forgotten: Forgotten) -> None:
    exported = world.client.get("/v1/memories/export", headers=headers(FORGETTER)).text

    assert RARE not in exported


def rows(db: Database, query: str, **params: Any) -> list[Any]:
    with db.session() as session:
        return list(session.execute(sql(query), params))


# What the search indexes of each database keep apart from the memories row: entries by
# memory id (the low 32 bits of a full-text rowid), and entries found by a word. (PostgreSQL's
# tsvector is a column of the row.)
INDEX_ENTRIES = {
    "sqlite": ("SELECT rowid FROM memories_fts WHERE rowid & 4294967295 = :i",
               "SELECT memory_id FROM memories_vec WHERE memory_id = :i"),
    "postgresql": ("SELECT memory_id FROM memories_vec WHERE memory_id = :i",),
}
INDEXED_WORDS = {
    "sqlite": ("SELECT rowid FROM memories_fts WHERE text LIKE :like",
               "SELECT rowid FROM memories_fts WHERE memories_fts MATCH :word"),
    "postgresql": ("SELECT id FROM memories WHERE text_search @@ plainto_tsquery('english', :word)",),
}


def test_no_table_or_index_keeps_a_row_of_a_forgotten_memory(world: World,
                                                             forgotten: Forgotten) -> None:
    db = world.db
    dialect = db.engine.dialect.name
    for memory_id in forgotten.ids:
        for query in ("SELECT id FROM memories WHERE id = :i",
                      "SELECT id FROM memory_sources WHERE memory_id = :i",
                      *INDEX_ENTRIES[dialect]):
            assert rows(db, query, i=memory_id) == [], query
    for word in (RARE, "marmalade"):
        for query in ("SELECT id FROM memories WHERE text LIKE :like",
                      "SELECT id FROM memory_sources WHERE excerpt LIKE :like",
                      *INDEXED_WORDS[dialect]):
            assert rows(db, query, like=f"%{word}%", word=word) == [], query


def test_what_was_not_forgotten_is_still_recalled(world: World, forgotten: Forgotten) -> None:
    hits = world.service.recall(FORGETTER, "Where do I work?")

    assert [hit.memory.id for hit in hits] == forgotten.kept


def test_the_forgotten_words_are_gone_from_the_database_file(world: World,
                                                             forgotten: Forgotten) -> None:
    if world.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps deleted rows in its files until VACUUM "
                    "reuses the space, and in its write-ahead log")
    rows(world.db, "PRAGMA wal_checkpoint(TRUNCATE)")
    database_file = Path(world.db.engine.url.database or "")
    files = sorted(database_file.parent.glob(f"{database_file.name}*"))

    assert files and not [f.name for f in files if RARE.encode() in f.read_bytes()]
