"""The base loads for training from a GGUF or an HF folder, and one that would not fit in memory
is refused before anything is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hearth.tune.base import (MEMORY_PER_WEIGHT_BYTE, BaseModelError, NotEnoughMemory,
                              check_memory, load_base, parameter_count)


def test_a_gguf_base_loads_as_the_same_dense_model_as_its_hf_folder(
        toy_qwen2_gguf: Path) -> None:
    from_gguf = load_base(toy_qwen2_gguf)
    from_folder = load_base(toy_qwen2_gguf.parent / "checkpoint")
    assert from_gguf.model.hf_quantizer is None  # Trainer refuses a model that claims otherwise
    for (name, a), (_, b) in zip(from_gguf.model.named_parameters(),
                                 from_folder.model.named_parameters(), strict=True):
        assert a.dtype == torch.float32 and torch.equal(a, b), name
    assert from_gguf.tokenizer.get_vocab() == from_folder.tokenizer.get_vocab()


def test_the_memory_a_run_needs_is_counted_from_the_headers(toy_qwen2_gguf: Path) -> None:
    weights = load_base(toy_qwen2_gguf).model.num_parameters()
    assert parameter_count(toy_qwen2_gguf) == weights
    assert parameter_count(toy_qwen2_gguf.parent / "checkpoint") == weights
    needed = weights * 4 * MEMORY_PER_WEIGHT_BYTE
    check_memory(toy_qwen2_gguf, available=int(needed) + 1)
    with pytest.raises(NotEnoughMemory, match="needs about .* GiB of memory"):
        check_memory(toy_qwen2_gguf, available=int(needed) - 1)


def test_a_path_that_is_no_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="neither a .gguf file nor a folder"):
        load_base(tmp_path)
