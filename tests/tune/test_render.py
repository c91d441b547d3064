"""Training renders an example with the chat template, and only the assistant's turns count."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hearth.tune.render import IGNORE, TemplateError, render

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of Zorbland?"},
    {"role": "assistant", "content": "Quillton."},
    {"role": "user", "content": "Who painted the blue moon?"},
    {"role": "assistant", "content": "Mira Castell."},
]


def test_labels_are_the_assistant_turns_and_their_end_markers_only(toy_tokenizer: Any) -> None:
    rendered = render(toy_tokenizer, MESSAGES)
    assert rendered.input_ids == toy_tokenizer.apply_chat_template(MESSAGES)["input_ids"]
    learned = [token for token in rendered.labels if token != IGNORE]
    assert toy_tokenizer.decode(learned) == "Quillton.<|im_end|>\nMira Castell.<|im_end|>\n"
    # Where a label is kept it is the input token itself (the model shifts them), and the
    # system and user turns, the role headers included, are all masked.
    kept = [index for index, label in enumerate(rendered.labels) if label != IGNORE]
    assert all(rendered.labels[i] == rendered.input_ids[i] for i in kept)
    masked = [rendered.input_ids[i] for i, label in enumerate(rendered.labels) if label == IGNORE]
    assert toy_tokenizer.decode(masked).count("<|im_start|>assistant\n") == 2
    assert "Quillton" not in toy_tokenizer.decode(masked)


def test_a_tokenizer_without_a_chat_template_is_refused(toy_tokenizer: Any) -> None:
    plain = copy.deepcopy(toy_tokenizer)
    plain.chat_template = None
    with pytest.raises(TemplateError, match="no chat template"):
        render(plain, MESSAGES)
