"""The embedding model as an ONNX file: exported once from the package's safetensors and kept
in hearth's data folder.

The file's name carries a hash of the source weights and one of the recipe below, so a new
package version or a changed recipe builds a new file instead of reusing a stale one. torch and
transformers are imported only here, and only when a file has to be built.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

# Everything that shapes the exported file. Change it and every cached file is rebuilt.
# The weights stay float32: ONNX Runtime's dynamic int8 quantization embedded 1.6x faster but
# lost 0.014 of recall@10 on the LoCoMo dev set (hearth bench memory), where float32 gives
# torch's recall exactly.
RECIPE = {
    "exporter": "torch.onnx.export (TorchScript)",
    "opset": 17,
    "inputs": ["input_ids", "attention_mask", "position_ids"],
    # Several texts run as one row: attention_mask is [batch, tokens, tokens], 1 where two
    # tokens belong to the same text, and position_ids count from 0 in each text.
    "packing": "block-diagonal attention_mask, position_ids per text",
    "output": "last_hidden_state",
    "weights": "float32",
}

INPUTS: list[str] = RECIPE["inputs"]
_NAME = "all-minilm-l6-v2"


def onnx_file(source: Path, folder: Path) -> Path:
    """Where the ONNX file for the model in ``source`` lives under ``folder`` (built or not)."""
    with open(source / "model.safetensors", "rb") as weights:
        weights_hash = hashlib.file_digest(weights, "sha256").hexdigest()[:12]
    recipe_hash = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:8]
    return folder / f"{_NAME}-{weights_hash}-{recipe_hash}.onnx"


def export(source: Path, target: Path) -> None:
    """Build ``target`` from the safetensors in ``source`` (a few seconds).

    The file appears whole or not at all: it is written next to ``target`` and renamed, so a
    second process starting at the same time never reads half of it. Files built from other
    weights or by another recipe are deleted then (90 MB each): nothing of this version reads
    them, and a process still running on one has it loaded already.
    """
    print(f"hearth: exporting the embedding model to {target} (once, a few seconds)",
          file=sys.stderr, flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        _export(source, built)
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

        # Keywords, not positions: BertModel's positional order is not the ONNX input order.
        # A mask with a query axis is taken as it is (one head axis added): a text's tokens
        # see that text only. Token types are all 0 for a single sentence.
        def forward(self, input_ids, attention_mask, position_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask[:, None].bool(),
                             token_type_ids=torch.zeros_like(input_ids),
                             position_ids=position_ids).last_hidden_state

    # "[CLS] hello world [SEP]" and "[CLS] hello [SEP]" in one row: the trace must keep the
    # mask and the positions.
    input_ids = torch.tensor([[101, 7592, 2088, 102, 101, 7592, 102]])
    text = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    mask = (text[:, None] == text[None, :]).long()[None]
    example = (input_ids, mask, torch.tensor([[0, 1, 2, 3, 0, 1, 2]]))
    model = LastHiddenState(AutoModel.from_pretrained(str(source)).eval())
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notices about Python conditions in transformers' code: the tests compare
        # the exported model's vectors with torch's, padded batches included.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, str(target), input_names=INPUTS,
                          output_names=[RECIPE["output"]],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens",
                                                           2: "tokens"},
                                        "position_ids": {0: "batch", 1: "tokens"},
                                        RECIPE["output"]: {0: "batch", 1: "tokens"}},
                          opset_version=RECIPE["opset"], dynamo=False)
