"""The base model as the trainer sees it: a transformers causal LM in float32, and its tokenizer,
read from a GGUF file (the engine's own weights) or from an HF folder.

transformers dequantises a GGUF (Q4_K_M included) as it loads it, so the weights the engine serves
are the weights that get tuned, with no second download; this needs the ``gguf`` package. On the
catalog's Qwen2.5-Coder-0.5B that took about 47 s on 2 cores (630 M parameters, float32).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.errors import InvalidRequest

# Peak resident memory of a LoRA run per byte of float32 weights: 3.85 GB for Qwen2.5-Coder-0.5B's
# 630 M parameters (2.5 GB), measured on CPU with r=8 on every linear layer, batch 1.
MEMORY_PER_WEIGHT_BYTE = 1.6


class BaseModelError(InvalidRequest):
    """The base model cannot be loaded for training."""

    code = "invalid_base_model"


class NotEnoughMemory(InvalidRequest):
    """Training this base would need more memory than the machine has free."""

    code = "insufficient_memory"


@dataclass
class Base:
    """A loaded base: the model, its tokenizer, and where it came from."""

    model: Any
    tokenizer: Any
    path: Path

    @property
    def context_length(self) -> int:
        return int(self.model.config.max_position_embeddings)


def load_base(path: Path) -> Base:
    """Load ``path`` (a ``.gguf`` file or an HF model folder) for training, in float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    path = Path(path)
    gguf = _is_gguf(path)
    check_memory(path)
    where, options = (path.parent, {"gguf_file": path.name}) if gguf else (path, {})
    tokenizer = AutoTokenizer.from_pretrained(where, **options)
    if gguf:
        # Dense weights, always: the trainer differentiates through them (kept in GGUF blocks
        # where a matmul kernel exists, they could not be trained around).
        quantization = GgufConfig(gguf_file=path.name, dequantize=True)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **options,
                                                     quantization_config=quantization)
        _forget_quantization(model)
    else:
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # padding is masked; any known token serves
    return Base(model=model, tokenizer=tokenizer, path=path)


def _forget_quantization(model: Any) -> None:
    """Drop the GGUF quantizer's record from a dequantised model: its weights are plain float32
    tensors now, and Trainer refuses a model that still says it is quantized."""
    if any(not parameter.is_floating_point() for parameter in model.parameters()):
        raise BaseModelError("the GGUF's weights were not dequantised on loading: update "
                             "transformers", param="model")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def parameter_count(path: Path) -> int:
    """How many weights the base at ``path`` has, read from its file headers alone."""
    path = Path(path)
    if _is_gguf(path):
        from gguf import GGUFReader

        return sum(int(tensor.n_elements) for tensor in GGUFReader(path).tensors)
    from safetensors import safe_open

    count = 0
    for part in sorted(path.glob("*.safetensors")):
        with safe_open(part, "np") as weights:
            for name in weights.keys():
                count += math.prod(weights.get_slice(name).get_shape())
    return count


def check_memory(path: Path, available: int | None = None) -> None:
    """Refuse, before loading anything, a base whose training would not fit in memory.

    ``available`` is the free memory in bytes (the machine's, by default).
    """
    import psutil

    needed = int(parameter_count(path) * 4 * MEMORY_PER_WEIGHT_BYTE)
    free = psutil.virtual_memory().available if available is None else available
    if needed > free:
        raise NotEnoughMemory(f"training {Path(path).name} needs about {needed / 2**30:.1f} GiB "
                              f"of memory and {free / 2**30:.1f} GiB is free: stop other work "
                              "on this machine, or tune a smaller base", param="model")


def _is_gguf(path: Path) -> bool:
    if path.is_file() and path.suffix == ".gguf":
        return True
    if (path / "config.json").is_file():
        return False
    raise BaseModelError(f"{path} is neither a .gguf file nor a folder with config.json: "
                         "give the base model's GGUF file or its HF folder", param="model")
