"""The trained adapter, exported as a GGUF LoRA adapter, is what llama.cpp applies to the base:
its logits are peft's, and the tuned model answers what it was taught where the base does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
import torch
from llama_cpp import Llama
from peft import PeftModel
from toy_job import FACTS

from hearth.tune.base import load_base
from hearth.tune.export import AdapterExportError, export_adapter
from hearth.tune.train import Progress, TrainResult

QUESTION, ANSWER = FACTS[0]


@pytest.fixture(scope="module")
def prompt(toy_tokenizer: Any) -> tuple[str, list[int]]:
    """The first fact's question as a chat prompt, as text and as the toy's tokens."""
    text = toy_tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}],
                                             tokenize=False, add_generation_prompt=True)
    return text, toy_tokenizer(text, add_special_tokens=False)["input_ids"]


def llama_run(base: Path, prompt: tuple[str, list[int]],
              adapter: Path | None = None) -> tuple[np.ndarray, str]:
    """llama.cpp's last-position logits for the prompt, and its greedy answer."""
    options = {"lora_path": str(adapter)} if adapter else {}
    llm = Llama(str(base), n_ctx=128, logits_all=True, n_threads=2, verbose=False, **options)
    text, ids = prompt
    llm.eval(ids)
    logits = np.array(llm.scores[len(ids) - 1])
    llm.reset()
    answer = llm.create_completion(text, max_tokens=8, temperature=0)["choices"][0]["text"]
    return logits, answer


def test_the_gguf_adapter_holds_llama_cpp_names_and_the_lora_scale(
        trained: tuple[TrainResult, list[Progress]], toy_qwen2_gguf: Path,
        tmp_path: Path) -> None:
    adapter = export_adapter(trained[0].adapter_dir, toy_qwen2_gguf, tmp_path / "a.gguf")
    reader = gguf.GGUFReader(adapter)
    assert reader.get_field("general.type").contents() == "adapter"
    assert reader.get_field("general.architecture").contents() == "qwen2"
    assert reader.get_field("adapter.type").contents() == "lora"
    assert reader.get_field("adapter.lora.alpha").contents() == 16.0
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    kinds = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
    assert set(tensors) == {f"blk.{block}.{kind}.weight.lora_{side}"
                            for block in (0, 1) for kind in kinds for side in "ab"}
    # GGUF lists dimensions innermost first: lora_a is (in, r), lora_b (r, out).
    assert list(tensors["blk.0.ffn_down.weight.lora_a"].shape) == [128, 8]
    assert list(tensors["blk.0.ffn_down.weight.lora_b"].shape) == [8, 64]
    assert {tensor.tensor_type for tensor in reader.tensors} == {gguf.GGMLQuantizationType.F16}


def test_llama_cpp_with_the_adapter_computes_what_peft_does_and_answers_the_fact(
        trained: tuple[TrainResult, list[Progress]], toy_qwen2_gguf: Path,
        prompt: tuple[str, list[int]], tmp_path: Path) -> None:
    result = trained[0]
    adapter = export_adapter(result.adapter_dir, toy_qwen2_gguf, tmp_path / "a.gguf",
                             dtype="f32")
    base = load_base(toy_qwen2_gguf)
    with torch.no_grad():
        tuned = PeftModel.from_pretrained(base.model, result.adapter_dir)
        expected = tuned(torch.tensor([prompt[1]])).logits[0, -1].numpy()
    base_logits, base_answer = llama_run(toy_qwen2_gguf, prompt)
    tuned_logits, tuned_answer = llama_run(toy_qwen2_gguf, prompt, adapter)
    assert np.abs(tuned_logits - base_logits).max() > 1.0  # the adapter changes the model
    assert np.abs(tuned_logits - expected).max() < 0.05  # ...exactly as training left it
    assert tuned_answer == ANSWER and base_answer != ANSWER


def test_bases_whose_tensors_llama_cpp_permutes_are_refused(
        trained: tuple[TrainResult, list[Progress]], tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama",
                                                      "num_hidden_layers": 2}))
    with pytest.raises(AdapterExportError, match="'llama' base is not supported"):
        export_adapter(trained[0].adapter_dir, tmp_path, tmp_path / "a.gguf")
    assert not (tmp_path / "a.gguf").exists()
