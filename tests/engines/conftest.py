"""Fixtures for the engine tests."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import toy_gpt_oss
import pytest
from openai_harmony import HarmonyEncoding

from hearth.config import Settings
from hearth.engines.harmony_vocab import harmony_encoding
from hearth.engines.llamacpp import LlamaCppEngine
from live_server import default_model_path


@pytest.fixture(scope="session")
def harmony_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder of the run's own, holding the verified o200k vocabulary."""
    return tmp_path_factory.mktemp("harmony-models")


@pytest.fixture(scope="session")
def encoding(harmony_models_dir: Path) -> HarmonyEncoding:
    """gpt-oss's harmony encoding, loaded offline from that folder."""
    return harmony_encoding(harmony_models_dir)


@pytest.fixture(scope="session")
def toy_gpt_oss_gguf(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory,
                harmony_models_dir: Path, encoding: HarmonyEncoding) -> Path:
    """The tiny random gpt-oss GGUF (toy_gpt_oss.py), built once per checkout into pytest's
    cache: the first build downloads llama-cpp-python's sdist for its converter and takes
    about a minute on two cores."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    version = importlib.metadata.version("llama_cpp_python")
    folder = (cache.mkdir(f"hearth-gpt-oss-toy-{version}") if cache
              else tmp_path_factory.mktemp("gpt-oss-toy"))
    model = folder / "gpt-oss-toy.gguf"
    return model if model.exists() else toy_gpt_oss.build(folder, harmony_models_dir,
                                                                encoding)


@pytest.fixture(scope="module")
def default_engine() -> Iterator[LlamaCppEngine]:
    """The default catalog model on the embedded engine, one sequence, 2 threads; loaded once
    per test module."""
    path = default_model_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `hearth models pull` (make test does)")
    engine = LlamaCppEngine.from_settings(Settings(model=str(path), parallel=1, threads=2))
    yield engine
    asyncio.run(engine.close())
