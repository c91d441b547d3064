"""The embedding model as an ONNX file: exported once from the package's safetensors and kept
in hearth's data folder.

The file's name carries a hash of the source weights and one of the recipe below, so a new
package version or a changed recipe builds a new file instead of reusing a stale one. torch and
transformers are imported only here, and only when a file has to be built.

The weights are stored as int8, one scale per output channel, and each run quantizes its
activations (ONNX Runtime's dynamic quantization): the six layers' weights shrink from 42 MB to
11 MB, which stay in a 32 MB cache where float32 ones stream from memory on every run. On the
LoCoMo dev set a message's memories were embedded in 9.0 ms on average and 17.1 ms at p95
(float32, packed several to a run: 13.0 and 22.6; three runs each, taken in turn), at cosine
0.991 to float32's vectors on average (0.98 at least), and ``hearth bench memory`` read recall@10
0.807 and 0.9007 within 1,000 tokens (float32: 0.810 and 0.9015). One scale per weight matrix
instead lost 0.005-0.014 of recall.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

# Everything that shapes the exported file. Change it and every cached file is rebuilt.
RECIPE = {
    "exporter": "torch.onnx.export (TorchScript)",
    "opset": 17,
    # One text per run, unpadded: every token attends to every other.
    "inputs": ["input_ids"],
    "output": "last_hidden_state",
    "weights": "int8 per output channel, activations quantized per run "
               "(onnxruntime.quantization.quantize_dynamic)",
    # The libraries that trace, convert and quantize the model: a new release of any may write
    # other numbers into the file.
    "libraries": {name: metadata.version(name)
                  for name in ("torch", "transformers", "onnx", "onnxruntime")},
}

INPUT: str = RECIPE["inputs"][0]
_NAME = "all-minilm-l6-v2"


def onnx_file(source: Path, folder: Path) -> Path:
    """Where the ONNX file for the model in ``source`` lives under ``folder`` (built or not)."""
    with open(source / "model.safetensors", "rb") as weights:
        weights_hash = hashlib.file_digest(weights, "sha256").hexdigest()[:12]
    recipe_hash = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:8]
    return folder / f"{_NAME}-{weights_hash}-{recipe_hash}.onnx"


def export(source: Path, target: Path) -> None:
    """Build ``target`` from the safetensors in ``source`` (about ten seconds).

    The file appears whole or not at all: it is written next to ``target`` and renamed, so a
    second process starting at the same time never reads half of it. Files built from other
    weights or by another recipe are deleted then (23-90 MB each): nothing of this version reads
    them, and a process still running on one has it loaded already.
    """
    print(f"hearth: exporting the embedding model to {target} (once, about ten seconds)",
          file=sys.stderr, flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", dir=target.parent) as tmp:
        exported, built = Path(tmp) / "float32.onnx", Path(tmp) / target.name
        _export(source, exported)
        _quantize(exported, built)
        os.replace(built, target)
    for stale in target.parent.glob(f"{_NAME}-*.onnx"):
        if stale != target:
            stale.unlink(missing_ok=True)


def _export(source: Path, target: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        # One unpadded text: every token is attended to, and token types are all 0 for a
        # single sentence.
        def forward(self, input_ids):
            return self.bert(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                             token_type_ids=torch.zeros_like(input_ids)).last_hidden_state

    example = (torch.tensor([[101, 7592, 2088, 102]]),)  # "[CLS] hello world [SEP]"
    model = LastHiddenState(AutoModel.from_pretrained(str(source)).eval())
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notices about Python conditions in transformers' code: the tests compare
        # the exported model's vectors with torch's.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, str(target), input_names=[INPUT],
                          output_names=[RECIPE["output"]],
                          dynamic_axes={INPUT: {0: "batch", 1: "tokens"},
                                        RECIPE["output"]: {0: "batch", 1: "tokens"}},
                          opset_version=RECIPE["opset"], dynamo=False)


def _quantize(exported: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It advises, through the root logger, a pre-processing pass that the recall figures above
    # were measured without.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(exported, target, per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
