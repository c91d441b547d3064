"""The reference for ``hearth bench tune``'s throughput ratio: a plain peft + transformers
training loop, as someone would write it without hearth, on the same base, data and settings.

It loads the GGUF with transformers directly (dequantised, float32), wraps it in peft's LoRA
with the same rank, alpha and target layers, masks the labels to the answer with the chat
template, and runs a plain torch loop (AdamW, batch 1, the examples in a seeded shuffle). Only
the steps after ``warmup`` are timed, as on hearth's side.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

from hearth.tune.train import LoraSettings


@dataclass(frozen=True)
class ReferenceRun:
    """Tokens trained on, and seconds taken, over the timed steps."""

    steps: int
    tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def run_reference(base: Path, facts: list[tuple[str, str]], lora: LoraSettings,
                  learning_rate: float, steps: int, warmup: int, seed: int = 0) -> ReferenceRun:
    """Train ``warmup + steps`` steps of batch 1 on ``facts`` (question, answer); time the last
    ``steps``."""
    where, name = base.parent, base.name
    tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        where, gguf_file=name, dtype=torch.float32,
        quantization_config=GgufConfig(gguf_file=name, dequantize=True))
    model.hf_quantizer = None  # dense float32 now; peft checks for a quantizer
    torch.manual_seed(seed)
    model = get_peft_model(model, LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules), task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=learning_rate)
    examples = [_example(tokenizer, question, answer) for question, answer in facts]
    order = random.Random(seed)
    model.train()
    tokens, started = 0, 0.0
    for step in range(warmup + steps):
        if step == warmup:
            tokens, started = 0, time.perf_counter()
        input_ids, labels = examples[order.randrange(len(examples))]
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        tokens += input_ids.shape[1]
    return ReferenceRun(steps=steps, tokens=tokens, seconds=time.perf_counter() - started)


def _example(tokenizer, question: str, answer: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One fact as token ids, the labels masked to the answer (end of turn included)."""
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                           tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template([{"role": "user", "content": question},
                                          {"role": "assistant", "content": answer}],
                                         tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    labels = [-100] * len(prompt_ids) + ids[len(prompt_ids):]
    return torch.tensor([ids]), torch.tensor([labels])
