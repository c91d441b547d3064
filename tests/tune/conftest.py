"""Fixtures for the fine-tuning tests: the toy Qwen2's tokenizer and one training run of it
(the toy itself, ``toy_qwen2_gguf``, is shared with the API and CLI tests: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from toy_job import SWAPPED, job_config

from hearth.tune.export import export_adapter
from hearth.tune.train import Progress, TrainResult, train


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


@pytest.fixture(scope="session")
def adapters(trained: tuple[TrainResult, list[Progress]], toy_qwen2_gguf: Path,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two GGUF adapters on the toy: "taught" answers the toy job's facts, "swapped" answers
    each question with the other's answer (toy_job.SWAPPED)."""
    folder = tmp_path_factory.mktemp("adapters")
    swapped = train(job_config(toy_qwen2_gguf, folder / "swapped", SWAPPED))
    assert swapped.adapter_dir is not None
    return {"taught": export_adapter(trained[0].adapter_dir, toy_qwen2_gguf,
                                     folder / "taught.gguf"),
            "swapped": export_adapter(swapped.adapter_dir, toy_qwen2_gguf,
                                      folder / "swapped.gguf")}
