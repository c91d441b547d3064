"""The database records which embedder recipe made its memory vectors, and a server started on
vectors of another recipe says so, naming the command that embeds them again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from controlled_embedder import ControlledEmbedder, direction
from hearth.memory.embedder import Embedder
from hearth.memory.service import MemoryService
from hearth.store import vector_recipe
from hearth.store.db import Database
from hearth.store.memories import Owner

ANNA = Owner("acme", "anna")
MAY = datetime(2023, 5, 8, tzinfo=UTC)
TEXT = "Anna keeps bees."


class RecipeEmbedder(ControlledEmbedder):
    """Chosen vectors under a recipe name the test chooses."""

    def __init__(self, recipe: str, vectors: dict[str, np.ndarray]) -> None:
        super().__init__(vectors)
        self.name = recipe

    def recipe(self) -> str:
        return self.name


def service_of(db: Database, recipe: str) -> MemoryService:
    return MemoryService(db, embedder=RecipeEmbedder(recipe, {TEXT: direction((0, 1.0))}))


def test_the_recipe_is_recorded_and_replaced(db: Database) -> None:
    assert vector_recipe.recorded_recipe(db) is None
    vector_recipe.record_recipe(db, "first")
    vector_recipe.record_recipe(db, "second")
    assert vector_recipe.recorded_recipe(db) == "second"


def test_a_database_without_memories_takes_this_embedders_recipe(db: Database) -> None:
    assert service_of(db, "int8 v2").vector_recipe_mismatch() is None
    assert vector_recipe.recorded_recipe(db) == "int8 v2"


def test_vectors_of_another_recipe_are_reported_until_embedded_again(db: Database) -> None:
    old = service_of(db, "float32 v1")
    assert old.vector_recipe_mismatch() is None
    old.add(ANNA, text=TEXT, kind="fact", observed_at=MAY)

    new = service_of(db, "int8 v2")
    line = new.vector_recipe_mismatch()
    assert line is not None
    assert "float32 v1" in line and "int8 v2" in line and "hearth memory reembed" in line

    assert new.embed_all_again() == 1
    assert new.vector_recipe_mismatch() is None
    assert vector_recipe.recorded_recipe(db) == "int8 v2"


def test_memories_stored_before_recipes_were_recorded_are_reported(db: Database) -> None:
    service = service_of(db, "int8 v2")
    service.add(ANNA, text=TEXT, kind="fact", observed_at=MAY)  # no check ran: nothing recorded
    line = service.vector_recipe_mismatch()
    assert line is not None and "did not record" in line and "hearth memory reembed" in line


def test_the_recipe_names_the_model_file_and_the_libraries_that_run_it(
        embedder_cache: Path) -> None:
    recipe = Embedder(cache=embedder_cache).recipe()
    assert recipe.startswith("all-minilm-l6-v2-")
    assert "onnxruntime==" in recipe and "tokenizers==" in recipe
    assert Embedder(cache=embedder_cache).recipe() == recipe


def test_a_server_started_on_vectors_of_another_recipe_says_so(serve, tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = Database(f"sqlite:///{home / 'hearth.db'}")
    db.migrate()
    service_of(db, "an older recipe").add(ANNA, text=TEXT, kind="fact", observed_at=MAY)
    vector_recipe.record_recipe(db, "an older recipe")
    db.dispose()

    server = serve(env={"HEARTH_ENGINE": "fake"}, home=home)
    server.stop()
    output = server.process.stdout.read()
    [line] = [line for line in output.splitlines() if "an older recipe" in line]
    assert "hearth memory reembed" in line
