"""Which embedder recipe made the stored memory vectors: one row, written down beside them.

Vectors from two recipes (another model, another export, another release of the libraries
that run it) are a little apart, and recall compares a question's new vector with the stored
ones, so a database must say what made them. The memory layer compares this record with its
embedder's recipe (``hearth.memory.service.MemoryService.vector_recipe_mismatch``).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy import text as sql

from hearth.store.db import Database
from hearth.store.tables import MemoryVectorRecipe, UTCDateTime, utcnow

# One statement on both databases, so that two workers starting at once both succeed.
_RECORD = sql(
    "INSERT INTO memory_vector_recipe (id, recipe, recorded_at) VALUES (1, :recipe, :at) "
    "ON CONFLICT (id) DO UPDATE SET recipe = excluded.recipe, recorded_at = excluded.recorded_at"
).bindparams(bindparam("at", type_=UTCDateTime()))


def recorded_recipe(db: Database) -> str | None:
    """The recipe of the stored vectors, or None when nothing recorded one (a database from
    before hearth recorded it)."""
    with db.session() as session:
        return session.scalar(select(MemoryVectorRecipe.recipe))


def record_recipe(db: Database, recipe: str) -> None:
    """Say that ``recipe`` made every stored vector."""
    with db.session() as session:
        session.execute(_RECORD, {"recipe": recipe, "at": utcnow()})
