"""A trained peft LoRA adapter written as a GGUF LoRA adapter, the file llama.cpp applies on top
of the base GGUF at load time (``Llama(model_path=base, lora_path=adapter)``).

Modelled on llama.cpp's ``convert_lora_to_gguf.py``, but ours, so that no script from an sdist
is needed at run time and only the ``gguf`` package is. The file holds ``general.type =
"adapter"``, ``adapter.type = "lora"``, ``adapter.lora.alpha``, and for each adapted layer two
tensors named after the base tensor with ``.lora_a`` / ``.lora_b`` appended
(``blk.0.attn_q.weight.lora_a``), names taken from the ``gguf`` package's own map of HF names to
llama.cpp's. peft's ``lora_A`` is (r, in) and ``lora_B`` (out, r); llama.cpp wants exactly those
layouts (it checks ``a.ne[0] == W.ne[0]`` and ``b.ne[1] == W.ne[1]``), so they are written as they
are, and llama.cpp scales by ``alpha / r`` as peft does.

Architectures: Qwen2 only, for now. llama.cpp's converter permutes the rows of a Llama model's
q/k weights (rotary layout), which an adapter's ``lora_B`` would have to follow; that is not done
here, so such bases are refused rather than written wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

from hearth.errors import InvalidRequest

ARCHITECTURES = ("qwen2",)
DTYPES = {"f16": np.float16, "f32": np.float32}
# peft's key for one factor: base_model.model.<HF module path>.lora_A.weight
_FACTOR = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<side>[AB])\.weight$")


class AdapterExportError(InvalidRequest):
    """The adapter cannot be written as a GGUF adapter for this base."""

    code = "adapter_export_failed"


def base_architecture(base: Path) -> tuple[str, int]:
    """The llama.cpp architecture name and block count of ``base`` (a GGUF or an HF folder)."""
    base = Path(base)
    if base.suffix == ".gguf":
        reader = gguf.GGUFReader(base)
        architecture = _field(reader, "general.architecture")
        return str(architecture), int(_field(reader, f"{architecture}.block_count"))
    config = json.loads((base / "config.json").read_text())
    return config["model_type"], int(config["num_hidden_layers"])


def export_adapter(adapter_dir: Path, base: Path, out_path: Path, dtype: str = "f16") -> Path:
    """Write the peft adapter in ``adapter_dir``, trained on ``base``, to ``out_path`` as GGUF.

    ``dtype`` is ``"f16"`` (half the size; what llama.cpp's converter writes by default) or
    ``"f32"``. The file appears whole or not at all.
    """
    architecture, blocks = base_architecture(base)
    if architecture not in ARCHITECTURES:
        raise AdapterExportError(f"exporting a LoRA adapter for a {architecture!r} base is not "
                                 f"supported yet (supported: {', '.join(ARCHITECTURES)})",
                                 param="model")
    if dtype not in DTYPES:
        raise AdapterExportError(f"dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    settings = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())
    if settings.get("use_rslora") or settings.get("use_dora"):
        raise AdapterExportError("rank-stabilised and DoRA adapters scale differently from "
                                 "llama.cpp's alpha / r: train a plain LoRA adapter")
    tensors = _gguf_tensors(load_file(Path(adapter_dir) / "adapter_model.safetensors"),
                            architecture, blocks)
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    writer = gguf.GGUFWriter(partial, arch=architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(settings["lora_alpha"]))
    for name, tensor in tensors.items():
        writer.add_tensor(name, tensor.astype(DTYPES[dtype]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out_path)
    return out_path


def _gguf_tensors(factors: dict[str, np.ndarray], architecture: str,
                  blocks: int) -> dict[str, np.ndarray]:
    """peft's factors under llama.cpp's names, each layer's A and B checked to pair up."""
    names = gguf.get_tensor_name_map(_arch(architecture), blocks)
    tensors: dict[str, np.ndarray] = {}
    for key, value in sorted(factors.items()):
        match = _FACTOR.match(key)
        if match is None:
            raise AdapterExportError(f"the adapter holds {key!r}, which is not a LoRA factor of "
                                     "a linear layer: train with LoRA on linear layers only")
        target = names.get_name(match["module"] + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise AdapterExportError(f"llama.cpp has no tensor for {match['module']!r}: leave it "
                                     "out of the LoRA target modules")
        tensors[f"{target}.lora_{match['side'].lower()}"] = value
    for name, a in tensors.items():
        if name.endswith(".lora_a"):
            b = tensors.get(name.removesuffix("_a") + "_b")
            if b is None or a.shape[0] != b.shape[1]:
                raise AdapterExportError(f"{name}: its lora_b is missing or of another rank; "
                                         "the adapter file is damaged, train it again")
    return tensors


def _arch(name: str) -> gguf.MODEL_ARCH:
    return next(arch for arch, known in gguf.MODEL_ARCH_NAMES.items() if known == name)


def _field(reader: gguf.GGUFReader, key: str) -> str | int:
    field = reader.get_field(key)
    if field is None:
        raise AdapterExportError(f"the base GGUF has no {key!r}: it is not a model file")
    return field.contents()
