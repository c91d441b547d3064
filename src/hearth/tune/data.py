"""Training files: JSONL, one ``{"messages": [...]}`` chat example per line (OpenAI's fine-tuning
format), checked line by line before any training starts.

Every problem is reported with its line number and what to change, all at once (the first
``MAX_ERRORS``, with the total), so a user fixes a file in one pass rather than one upload per
mistake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.errors import InvalidRequest
from hearth.tune.render import render

MAX_ERRORS = 20
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class LineError:
    """One problem: the 1-based line it is on and what to fix."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class InvalidTrainingFile(InvalidRequest):
    """A training file with problems; ``errors`` holds the first ``MAX_ERRORS``, ``count`` all."""

    code = "invalid_training_file"

    def __init__(self, errors: list[LineError], count: int):
        shown = "; ".join(str(error) for error in errors)
        more = f" (and {count - len(errors)} more)" if count > len(errors) else ""
        super().__init__(f"the training file has {count} problem{'s' * (count != 1)}: "
                         f"{shown}{more}", param="training_file")
        self.errors = errors
        self.count = count


@dataclass(frozen=True)
class Example:
    """One valid chat example; ``tokens`` is its rendered length when a tokenizer was given."""

    line: int
    messages: list[dict[str, str]]
    tokens: int | None


@dataclass(frozen=True)
class Dataset:
    """The valid examples of a file, and their total tokens when a tokenizer counted them."""

    examples: list[Example]
    tokens: int | None

    @property
    def count(self) -> int:
        return len(self.examples)


def validate(path: Path, tokenizer: Any = None, context_length: int | None = None) -> Dataset:
    """Parse and check the training file at ``path``; raise InvalidTrainingFile listing problems.

    With ``tokenizer`` (the base model's, with its chat template) each example is rendered as
    training will render it and counted; with ``context_length`` too, longer examples are errors.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidTrainingFile([LineError(_line_of(Path(path), error.start),
                                             "is not UTF-8 text: save the file as UTF-8")], 1)
    return validate_lines(text.splitlines(), tokenizer, context_length)


def validate_lines(lines: list[str], tokenizer: Any = None,
                   context_length: int | None = None) -> Dataset:
    """As ``validate``, for a file's lines already read (an upload held in memory)."""
    errors: list[LineError] = []
    examples: list[Example] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # a trailing newline or a blank separator is not an example
        problems, messages = _check_line(line)
        if problems:
            errors += [LineError(number, problem) for problem in problems]
            continue
        tokens = len(render(tokenizer, messages).input_ids) if tokenizer is not None else None
        if tokens is not None and context_length is not None and tokens > context_length:
            errors.append(LineError(number, f"is {tokens} tokens long, over the model's context "
                                    f"length of {context_length}: shorten or split it"))
            continue
        examples.append(Example(line=number, messages=messages, tokens=tokens))
    if not errors and not examples:
        errors.append(LineError(1, "the file holds no examples: write one JSON object per line, "
                                   '{"messages": [{"role": "user", ...}, '
                                   '{"role": "assistant", ...}]}'))
    if errors:
        raise InvalidTrainingFile(errors[:MAX_ERRORS], len(errors))
    total = sum(example.tokens for example in examples) if tokenizer is not None else None
    return Dataset(examples=examples, tokens=total)


def _line_of(path: Path, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of the file."""
    return path.read_bytes()[:offset].count(b"\n") + 1


def _check_line(line: str) -> tuple[list[str], list[dict[str, str]]]:
    """The problems of one line, or none and its messages."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return [f"is not valid JSON ({error.msg} at column {error.colno}): write one JSON "
                "object per line"], []
    if not isinstance(record, dict):
        return ['is not a JSON object: write {"messages": [...]}'], []
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return ['has no "messages" list, or an empty one: give the conversation as '
                '"messages": [{"role": ..., "content": ...}, ...]'], []
    problems = []
    for index, message in enumerate(messages):
        problems += [f"message {index + 1} {problem}" for problem in _check_message(message,
                                                                                    index)]
    if not problems and not any(message["role"] == "assistant" for message in messages):
        problems.append("has no assistant message: each example needs at least one answer to "
                        "learn from")
    if problems:
        return problems, []
    return [], [{"role": message["role"], "content": message["content"]}
                for message in messages]


def _check_message(message: Any, index: int) -> list[str]:
    """The problems of one message at position ``index`` of its example."""
    if not isinstance(message, dict):
        return ['is not an object: write {"role": ..., "content": ...}']
    role = message.get("role")
    if role not in ROLES:
        return [f"has role {role!r}: use one of {', '.join(ROLES)}"]
    problems = []
    if role == "system" and index > 0:
        problems.append("is a system message after the first: put the system message first, "
                        "once")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        problems.append(f"({role}) has no text content: give \"content\" as a non-empty string")
    return problems
