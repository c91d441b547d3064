"""Migration 0004 on a real SQLite file: memories written under 0003's float vector index
stay findable by meaning after the upgrade to sign bits and floats, and after a downgrade.

Rows are written with SQL as 0003's code wrote them, since today's store writes today's index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from test_memory_search import ANNA, BEN, WHEN, unit

from hearth.store import memories as store
from hearth.store.db import Database, alembic_config
from hearth.store.memories import Owner


def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    with db.engine.begin() as connection:
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


@pytest.fixture
def db_at_0003(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'hearth.db'}")
    migrate(database, "0003")
    yield database
    database.dispose()


def owner_token(owner: Owner) -> str:
    """The owner's full-text token in 0002 to 0004's index (letters and digits only)."""
    return "o" + hashlib.sha256(owner.key.encode()).hexdigest()[:24]


def add_with_token(connection: Connection, owner: Owner, memory_id: int, words: str) -> None:
    """A memory row and its words under its owner's token, as 0002 to 0004 indexed them."""
    connection.execute(text(
        "INSERT INTO memories (id, org_id, user_id, kind, text, observed_at, importance, "
        "pinned, created_at, updated_at) VALUES (:id, :org, :user, 'fact', :text, :when, "
        "0.5, 0, :when, :when)"),
        {"id": memory_id, "org": owner.org_id, "user": owner.user_id, "text": words,
         "when": WHEN.isoformat()})
    connection.execute(text(
        "INSERT INTO memories_fts(rowid, text, owner) VALUES (:id, :text, :token)"),
        {"id": memory_id, "text": words, "token": owner_token(owner)})


def add_as_0003_did(db: Database, owner: Owner, memory_id: int, words: str, seed: int) -> None:
    """A memory with its words and float vector, in 0003's index tables."""
    with db.engine.begin() as connection:
        add_with_token(connection, owner, memory_id, words)
        connection.execute(text(
            "INSERT INTO memories_vec(memory_id, owner, embedding) VALUES (:id, :key, :e)"),
            {"id": memory_id, "key": owner.key, "e": unit(seed).tobytes()})


def nearest_in_float_index(db: Database, owner: Owner, seed: int) -> list[int]:
    """0003's vector search, on the index a downgrade leaves."""
    with db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT memory_id FROM memories_vec WHERE embedding MATCH :e AND k = 3 "
            "AND owner = :key ORDER BY distance"), {"e": unit(seed).tobytes(), "key": owner.key})
        return [i for (i,) in rows]


def test_memories_indexed_before_0004_are_found_after_it(db_at_0003: Database) -> None:
    for memory_id, seed in ((1, 11), (2, 12), (3, 13)):
        add_as_0003_did(db_at_0003, ANNA, memory_id, f"Anna planted tree number {seed}", seed)
    add_as_0003_did(db_at_0003, BEN, 4, "Ben planted a tree", 12)

    db_at_0003.migrate()

    assert store.vector_search(db_at_0003, ANNA, unit(12), limit=1)[0] == (
        2, pytest.approx(1.0, abs=1e-5))
    assert {i for i, _ in store.vector_search(db_at_0003, ANNA, unit(12))} == {1, 2, 3}
    assert {i for i, _ in store.fulltext_search(db_at_0003, ANNA, "planted tree")} == {1, 2, 3}
    later = store.add_memory(db_at_0003, ANNA, kind="fact", text="Anna sold the orchard",
                             embedding=unit(14), observed_at=WHEN).id
    assert store.vector_search(db_at_0003, ANNA, unit(14), limit=1)[0][0] == later


def test_a_downgrade_to_0003_puts_every_vector_back_in_the_float_index(
    db_at_0003: Database,
) -> None:
    db_at_0003.migrate()
    ids = [store.add_memory(db_at_0003, ANNA, kind="fact", text=f"Anna note {seed}",
                            embedding=unit(seed), observed_at=WHEN).id for seed in (21, 22, 23)]

    migrate(db_at_0003, "0003", down=True)

    assert nearest_in_float_index(db_at_0003, ANNA, 22)[0] == ids[1]
    assert set(nearest_in_float_index(db_at_0003, ANNA, 22)) == set(ids)
    db_at_0003.migrate()
    assert store.vector_search(db_at_0003, ANNA, unit(23), limit=1)[0][0] == ids[2]
