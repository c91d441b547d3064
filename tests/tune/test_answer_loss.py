"""Training runs the LM head only where the loss looks, and gets the loss (and the gradients)
that the model's own loss over every logit gives."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model

from hearth.tune.answer_loss import AnswerOnlyCollator, answer_loss
from hearth.tune.base import load_base
from hearth.tune.render import IGNORE, render

CHATS = [
    [{"role": "user", "content": "What is the capital of Zorbland?"},
     {"role": "assistant", "content": "Quillton."}],
    [{"role": "system", "content": "Answer briefly."},
     {"role": "user", "content": "Who painted the blue moon?"},
     {"role": "assistant", "content": "Mira Castell."},
     {"role": "user", "content": "And the red sun, in the year of the long winter?"},
     {"role": "assistant", "content": "Odo Brand, in his old age."}],
]


def test_the_answer_only_loss_equals_the_full_loss_with_fewer_logits(
        toy_qwen2_gguf: Path) -> None:
    base = load_base(toy_qwen2_gguf)
    torch.manual_seed(0)
    model = get_peft_model(base.model, LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                                                  target_modules=["q_proj", "down_proj"]))
    rendered = [render(base.tokenizer, chat) for chat in CHATS]
    batch = AnswerOnlyCollator(base.tokenizer)(
        [{"input_ids": r.input_ids, "labels": r.labels} for r in rendered])
    labels = batch.pop("labels")
    keep = batch.pop("logits_to_keep")
    answered = sum(label != IGNORE for r in rendered for label in r.labels)
    assert int(keep.sum()) == answered  # one kept position before each labelled token
    assert labels.shape[1] > 2 * answered  # the two chats are mostly prompt

    full = model(**batch, labels=labels)
    full.loss.backward()
    full_grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]
    model.zero_grad()

    kept = model(**batch, logits_to_keep=keep)
    loss = answer_loss(kept, labels)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]

    assert kept.logits.shape[0] == answered < full.logits.shape[0] * full.logits.shape[1]
    assert torch.allclose(loss, full.loss, rtol=1e-5)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(grads, full_grads))
