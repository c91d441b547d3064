"""Fixtures for the fine-tuning tests: the toy Qwen2 model (toy_qwen2.py) and its tokenizer."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest
import toy_qwen2
from toy_job import job_config

from hearth.tune.train import Progress, TrainResult, train


@pytest.fixture(scope="session")
def toy_qwen2_gguf(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy Qwen2 GGUF (its HF checkpoint beside it), built once per checkout into pytest's
    cache: the first build downloads llama-cpp-python's sdist for the converter."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    version = importlib.metadata.version("llama_cpp_python")
    folder = (cache.mkdir(f"hearth-qwen2-toy-{version}") if cache
              else tmp_path_factory.mktemp("qwen2-toy"))
    model = folder / toy_qwen2.GGUF_NAME
    return model if model.exists() else toy_qwen2.build(folder)


@pytest.fixture(scope="session")
def toy_tokenizer(toy_qwen2_gguf: Path) -> Any:
    """The toy's tokenizer, read from its GGUF as training reads a base model's."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(toy_qwen2_gguf.parent, gguf_file=toy_qwen2_gguf.name)


@pytest.fixture(scope="session")
def trained(toy_qwen2_gguf: Path,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, list[Progress]]:
    """One uninterrupted run of the toy job (toy_job.py), with the progress it reported."""
    reports: list[Progress] = []
    result = train(job_config(toy_qwen2_gguf, tmp_path_factory.mktemp("job")), reports.append)
    return result, reports
