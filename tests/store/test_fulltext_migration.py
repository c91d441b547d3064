"""Migration 0005 on a real SQLite file: memories indexed under 0004's owner tokens are found
by their words, and only by their owner, after the upgrade to owner rowid ranges, and again
under owner tokens after a downgrade.

Rows are written with SQL as 0004's code wrote them, since today's store writes today's index.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from test_memory_search import ANNA, BEN, add, found
from test_vector_index_migration import add_with_token, migrate, owner_token

from hearth.store.db import Database
from hearth.store.memories import Owner


@pytest.fixture
def db_at_0004(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'hearth.db'}")
    migrate(database, "0004")
    yield database
    database.dispose()


def add_as_0004_did(db: Database, owner: Owner, memory_id: int, words: str) -> None:
    """A memory and its words under its owner's token, in 0004's full-text table."""
    with db.engine.begin() as connection:
        add_with_token(connection, owner, memory_id, words)


def found_by_token(db: Database, owner: Owner, word: str) -> set[int]:
    """0004's full-text search, on the index a downgrade leaves."""
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT rowid FROM memories_fts WHERE memories_fts "
                                        "MATCH :match"),
                                  {"match": f"owner:{owner_token(owner)} AND text:{word}"})
        return {i for (i,) in rows}


def test_memories_indexed_before_0005_are_found_by_their_owner_only_after_it(
    db_at_0004: Database,
) -> None:
    add_as_0004_did(db_at_0004, ANNA, 1, "Anna planted an oak")
    add_as_0004_did(db_at_0004, ANNA, 2, "Anna planted a birch")
    add_as_0004_did(db_at_0004, BEN, 3, "Ben planted an oak")

    db_at_0004.migrate()

    assert set(found(db_at_0004, ANNA, "planted oak")) == {1, 2}
    assert found(db_at_0004, ANNA, "oak") == [1]
    assert found(db_at_0004, BEN, "planted") == [3]
    later = add(db_at_0004, ANNA, "Anna pruned the oak", 4)
    assert found(db_at_0004, ANNA, "pruned") == [later]
    assert found(db_at_0004, BEN, "pruned") == []


def test_a_downgrade_to_0004_puts_every_memory_back_under_its_owners_token(
    db_at_0004: Database,
) -> None:
    db_at_0004.migrate()
    oak = add(db_at_0004, ANNA, "Anna planted an oak", 1)
    birch = add(db_at_0004, ANNA, "Anna planted a birch", 2)
    bens = add(db_at_0004, BEN, "Ben planted an oak", 3)

    migrate(db_at_0004, "0004", down=True)

    assert found_by_token(db_at_0004, ANNA, "planted") == {oak, birch}
    assert found_by_token(db_at_0004, BEN, "oak") == {bens}
    db_at_0004.migrate()
    assert set(found(db_at_0004, ANNA, "planted")) == {oak, birch}


def test_a_migration_that_fails_half_way_leaves_the_database_as_it_was(
    db_at_0004: Database,
) -> None:
    # 0005 creates a table, drops the full-text index and rebuilds it; a failure after that
    # (here: when Alembic records the new revision) must undo all of it, or the next start
    # would find half of 0005 done and fail for good.
    add_as_0004_did(db_at_0004, ANNA, 1, "Anna planted an oak")
    with db_at_0004.engine.begin() as connection:
        connection.execute(text("CREATE TRIGGER crash BEFORE UPDATE ON alembic_version "
                                "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"))

    with pytest.raises(Exception, match="simulated crash"):
        db_at_0004.migrate()

    with db_at_0004.engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0004"
        assert connection.scalar(text("SELECT count(*) FROM sqlite_master "
                                      "WHERE name = 'memory_owners'")) == 0
    assert found_by_token(db_at_0004, ANNA, "oak") == {1}
    with db_at_0004.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER crash"))
    db_at_0004.migrate()
    assert found(db_at_0004, ANNA, "oak") == [1]
