"""Fixtures for the engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai_harmony import HarmonyEncoding

from hearth.engines.harmony_vocab import harmony_encoding


@pytest.fixture(scope="session")
def harmony_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder of the run's own, holding the verified o200k vocabulary."""
    return tmp_path_factory.mktemp("harmony-models")


@pytest.fixture(scope="session")
def encoding(harmony_models_dir: Path) -> HarmonyEncoding:
    """gpt-oss's harmony encoding, loaded offline from that folder."""
    return harmony_encoding(harmony_models_dir)
