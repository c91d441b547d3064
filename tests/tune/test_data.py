"""Training files are checked line by line, every problem named with its line and its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hearth.errors import InvalidRequest
from hearth.tune.data import MAX_ERRORS, InvalidTrainingFile, validate, validate_lines


def chat(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": role, "content": text} for role, text in turns]})


GOOD = chat(("system", "Be brief."), ("user", "Capital of Zorbland?"),
            ("assistant", "Quillton."))


def problems(lines: list[str], **options: Any) -> list[str]:
    with pytest.raises(InvalidTrainingFile) as caught:
        validate_lines(lines, **options)
    return [str(error) for error in caught.value.errors]


def test_a_good_file_gives_its_examples_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(GOOD + "\n\n" + chat(("user", "Hi"), ("assistant", "Hello")) + "\n")
    dataset = validate(path)
    assert [example.line for example in dataset.examples] == [1, 3]
    assert dataset.examples[1].messages == [{"role": "user", "content": "Hi"},
                                            {"role": "assistant", "content": "Hello"}]
    assert dataset.count == 2 and dataset.tokens is None


def test_each_kind_of_mistake_is_reported_with_its_line() -> None:
    lines = [
        GOOD,
        "{not json",
        "[1, 2]",
        json.dumps({"messages": []}),
        json.dumps({"prompt": "x"}),
        chat(("user", "Hi"), ("bot", "Hello")),
        chat(("user", "Hi"), ("system", "Late"), ("assistant", "Hello")),
        chat(("user", "Hi")),
        chat(("user", ""), ("assistant", "Hello")),
        json.dumps({"messages": [{"role": "user", "content": ["parts"]},
                                 {"role": "assistant", "content": "x"}]}),
        json.dumps({"messages": ["hi"]}),
    ]
    found = problems(lines)
    assert [text.split(":")[0] for text in found] == [f"line {n}" for n in range(2, 12)]
    assert "not valid JSON" in found[0]
    assert "not a JSON object" in found[1]
    assert '"messages"' in found[2] and '"messages"' in found[3]
    assert "message 2 has role 'bot'" in found[4]
    assert "message 2 is a system message after the first" in found[5]
    assert "no assistant message" in found[6]
    assert "message 1 (user) has no text content" in found[7]
    assert "message 1 (user) has no text content" in found[8]
    assert "message 1 is not an object" in found[9]


def test_only_the_first_errors_are_kept_but_all_are_counted() -> None:
    with pytest.raises(InvalidTrainingFile) as caught:
        validate_lines(["{bad"] * 30)
    assert len(caught.value.errors) == MAX_ERRORS and caught.value.count == 30
    assert "30 problems" in caught.value.message and "(and 10 more)" in caught.value.message
    assert isinstance(caught.value, InvalidRequest) and caught.value.status == 400


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(InvalidTrainingFile, match="no examples"):
        validate(path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(GOOD.encode() + b'\n{"messages": [{"role": "user", "content": "caf\xe9"}]}')
    with pytest.raises(InvalidTrainingFile, match="line 2: is not UTF-8"):
        validate(path)


def test_examples_are_counted_with_the_chat_template_and_long_ones_rejected(
        toy_tokenizer: Any) -> None:
    short = chat(("user", "Hi"), ("assistant", "Hello"))
    dataset = validate_lines([short, GOOD], tokenizer=toy_tokenizer)
    rendered = [len(toy_tokenizer.apply_chat_template(example.messages)["input_ids"])
                for example in dataset.examples]
    assert [example.tokens for example in dataset.examples] == rendered
    assert dataset.tokens == sum(rendered)
    limit = rendered[0]  # the short one fits exactly, the long one does not
    [error] = problems([short, GOOD], tokenizer=toy_tokenizer, context_length=limit)
    assert error.startswith("line 2: is ") and f"context length of {limit}" in error
