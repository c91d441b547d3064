"""The base model as the trainer sees it: a transformers causal LM in float32, and its tokenizer,
read from a GGUF file (the engine's own weights) or from an HF folder.

transformers dequantises a GGUF (Q4_K_M included) as it loads it, so the weights the engine serves
are the weights that get tuned, with no second download; this needs the ``gguf`` package. On the
catalog's Qwen2.5-Coder-0.5B that took about 47 s on 2 cores (630 M parameters, float32).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.errors import InvalidRequest


class BaseModelError(InvalidRequest):
    """The base model cannot be loaded for training."""

    code = "invalid_base_model"


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
    gguf = path.is_file() and path.suffix == ".gguf"
    if gguf:
        where, options = path.parent, {"gguf_file": path.name}
    elif (path / "config.json").is_file():
        where, options = path, {}
    else:
        raise BaseModelError(f"{path} is neither a .gguf file nor a folder with config.json: "
                             "give the base model's GGUF file or its HF folder", param="model")
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
