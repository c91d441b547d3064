"""A chat example as the model sees it in training: token ids, and labels that are -100
everywhere but the assistant's turns.

The chat template decides the text, so training sees exactly what serving renders. Assistant
spans are found by rendering the conversation up to each assistant message (with the generation
prompt) and up to its end: the characters between are that turn, end-of-turn marker included, so
the model learns to stop. The full text is then tokenised once and a token is a label where it
starts inside such a span: tokenising the pieces apart could split words differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hearth.errors import InvalidRequest

IGNORE = -100  # the label torch's cross-entropy skips


class TemplateError(InvalidRequest):
    """The tokenizer's chat template cannot be used for training."""

    code = "unsupported_chat_template"


@dataclass(frozen=True)
class Rendered:
    """One example, tokenised; ``labels[i]`` is ``input_ids[i]`` in assistant turns, else -100."""

    input_ids: list[int]
    labels: list[int]


def render(tokenizer: Any, messages: list[dict[str, str]]) -> Rendered:
    """Tokenise ``messages`` with ``tokenizer``'s chat template, loss masked to assistant turns.

    ``tokenizer`` is a transformers fast tokenizer with a chat template (the offsets of the
    tokens are needed to place the spans).
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TemplateError("the base model's tokenizer has no chat template: choose an "
                            "instruction-tuned base, whose template says how turns are written")
    text = _template(tokenizer, messages, generation_prompt=False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_template(tokenizer, messages[:index], generation_prompt=True))
        through = _template(tokenizer, messages[:index + 1], generation_prompt=False)
        end = len(through)
        if not text.startswith(through) or start > end:
            raise TemplateError("the chat template renders a conversation differently from its "
                                "beginning, so the assistant's turns cannot be located; use a "
                                "base whose template renders turns in order (ChatML does)")
        spans.append((start, end))
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    input_ids = list(encoded["input_ids"])
    labels = [token if any(start <= begin < end for start, end in spans) else IGNORE
              for token, (begin, _) in zip(input_ids, encoded["offset_mapping"])]
    return Rendered(input_ids=input_ids, labels=labels)


def _template(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
    if not messages:
        return ""
    return tokenizer.apply_chat_template(messages, tokenize=False,
                                         add_generation_prompt=generation_prompt)
