"""Each owner's memory vectors added up: every write to the vector index keeps the sum, so
the mean recall takes out of a question is the mean of what the index holds for that owner."""

from __future__ import annotations

import numpy as np
import pytest
from alembic import command
from test_memory_search import ANNA, BEN, WHEN, unit

from hearth.store import memories as store
from hearth.store.db import Database, alembic_config
from hearth.store.memories import NewMemory


def add(db: Database, owner, text: str, seed: int) -> int:
    return store.add_memory(db, owner, kind="fact", text=text, embedding=unit(seed),
                            observed_at=WHEN).id


def test_the_mean_follows_every_write_to_the_vector_index(db: Database) -> None:
    held = {add(db, ANNA, "Anna swims", 1): unit(1)}
    bulk = store.add_memories_bulk(db, ANNA, [
        NewMemory(kind="fact", text=f"Anna ran {seed} km", embedding=unit(seed),
                  observed_at=WHEN) for seed in (2, 3, 4)])
    held.update(zip(bulk, (unit(2), unit(3), unit(4))))
    add(db, BEN, "Ben cooks", 9)
    edited = bulk[0]
    store.update_memory(db, ANNA, edited, text="Anna ran 5 km", embedding=unit(5))
    held[edited] = unit(5)
    store.delete_memory(db, ANNA, bulk[1])
    del held[bulk[1]]

    expected = np.mean(list(held.values()), axis=0)
    assert np.allclose(store.mean_vector(db, ANNA), expected, atol=1e-6)
    assert np.allclose(store.mean_vector(db, BEN), unit(9), atol=1e-6)

    store.delete_all(db, ANNA)
    assert store.mean_vector(db, ANNA) is None
    assert np.allclose(store.mean_vector(db, BEN), unit(9), atol=1e-6)


def test_an_upgrade_adds_up_the_vectors_already_stored(db: Database) -> None:
    for seed in (1, 2, 3):
        add(db, ANNA, f"Anna planted tree {seed}", seed)
    add(db, BEN, "Ben planted a tree", 7)
    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")  # no sums table
    db.migrate()
    assert np.allclose(store.mean_vector(db, ANNA), np.mean([unit(s) for s in (1, 2, 3)], axis=0),
                       atol=1e-6)
    assert np.allclose(store.mean_vector(db, BEN), unit(7), atol=1e-6)


def test_a_write_rolled_back_leaves_the_sum_as_it_was(db: Database) -> None:
    add(db, ANNA, "Anna swims", 1)
    with pytest.raises(RuntimeError), db.session() as session:
        store.add_memory_in(session, ANNA, kind="fact", text="Anna sails", embedding=unit(2),
                            observed_at=WHEN)
        raise RuntimeError("the rest of the message failed")
    assert np.allclose(store.mean_vector(db, ANNA), unit(1), atol=1e-6)
