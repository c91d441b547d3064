"""The probe: questions drawn from the training data, answered by the base and by the tuned
model, scored by exact answer. A loss going down says training fitted something; the probe says
whether the model now *answers* what it was taught, as it will be served.

Which examples make a question: those whose last message is an assistant answer short enough to
be an exact answer, one line of at most ``MAX_ANSWER_WORDS`` words and ``MAX_ANSWER_CHARS``
characters (a name, a number, a date). A longer answer has many right phrasings, and exact match
would score a correct paraphrase as wrong. The conversation before that answer is the question;
up to ``limit`` of them are drawn with a seeded generator, so a job's probe can be repeated.

Scoring: a reply is right when it equals the answer after ``normalise`` (case, runs of
whitespace, trailing punctuation). An answer merely *contained* in a reply does not count: short
answers (a number, a yes, a name) turn up inside wrong replies ("It is not Quillton"), and a
model that lists guesses would score; the probe asks whether the model gives the taught answer
as taught.

Answers come from llama.cpp, what hearth serves: the base GGUF with and without the exported
GGUF adapter (``lora_path``), the prompt rendered by the GGUF's chat template as the engine
renders it, greedy. Each reply is cut at the answer's length plus ``SPARE_TOKENS``: a reply
that runs on past that is wrong whatever follows, so generating more would only cost time.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.engines.chat_template import ChatTemplate
from hearth.tune.data import Example, validate

LIMIT = 20
MAX_ANSWER_WORDS = 8
MAX_ANSWER_CHARS = 60
SPARE_TOKENS = 4  # "Quillton." may tokenise differently alone than after the prompt
CONTEXT = 2048  # a question longer than this, less its answer's budget, is left out
_TRAILING_PUNCTUATION = ".,;:!?"


@dataclass(frozen=True)
class Question:
    """The conversation before a short answer, and that answer."""

    messages: list[dict[str, str]]
    answer: str


@dataclass(frozen=True)
class Answered:
    """One question as asked, with the base's and the tuned model's replies."""

    question: Question
    base_reply: str
    tuned_reply: str

    @property
    def base_correct(self) -> bool:
        return is_exact(self.base_reply, self.question.answer)

    @property
    def tuned_correct(self) -> bool:
        return is_exact(self.tuned_reply, self.question.answer)


@dataclass(frozen=True)
class ProbeResult:
    """How many questions were asked and how many each model answered exactly."""

    answered: list[Answered]

    @property
    def questions(self) -> int:
        return len(self.answered)

    @property
    def base_correct(self) -> int:
        return sum(item.base_correct for item in self.answered)

    @property
    def tuned_correct(self) -> int:
        return sum(item.tuned_correct for item in self.answered)

    def summary(self) -> dict[str, int]:
        return {"questions": self.questions, "base_correct": self.base_correct,
                "tuned_correct": self.tuned_correct}

    def message(self) -> str:
        """The result as a sentence for a job's events."""
        if not self.questions:
            return ("Probe: no training example ends in a short answer (one line, at most "
                    f"{MAX_ANSWER_WORDS} words), so none was asked")
        return (f"Probe: {self.questions} questions from the training data answered exactly by "
                f"the tuned model {self.tuned_correct}/{self.questions}, by the base "
                f"{self.base_correct}/{self.questions}")


def normalise(text: str) -> str:
    """``text`` as compared: lower case, whitespace runs as one space, no trailing punctuation."""
    return " ".join(text.casefold().split()).rstrip(_TRAILING_PUNCTUATION).rstrip()


def is_exact(reply: str, answer: str) -> bool:
    """Whether ``reply`` is ``answer``, up to ``normalise``."""
    return normalise(reply) == normalise(answer)


def is_short_answer(text: str) -> bool:
    """Whether ``text`` can be scored by exact match (see the module's docstring)."""
    stripped = text.strip()
    return ("\n" not in stripped and len(stripped) <= MAX_ANSWER_CHARS
            and len(stripped.split()) <= MAX_ANSWER_WORDS)


def draw_questions(examples: list[Example], limit: int = LIMIT, seed: int = 0) -> list[Question]:
    """Up to ``limit`` questions from ``examples``, drawn with ``seed``, in the file's order.

    An example counts once per distinct question: a fact repeated in the file is not asked
    twice.
    """
    found: dict[str, Question] = {}
    for example in examples:
        *before, last = example.messages
        if last["role"] != "assistant" or not is_short_answer(last["content"]) or not any(
                message["role"] == "user" for message in before):
            continue
        key = repr(before)
        found.setdefault(key, Question(messages=before, answer=last["content"].strip()))
    questions = list(found.values())
    chosen = sorted(random.Random(seed).sample(range(len(questions)),
                                               min(limit, len(questions))))
    return [questions[index] for index in chosen]


def ask(model: Path, questions: list[Question], adapter: Path | None = None,
        threads: int | None = None) -> list[str | None]:
    """The greedy reply of llama.cpp (``model``, with ``adapter`` applied if given) to each
    question; None for a question too long for the probe's context."""
    from llama_cpp import Llama

    options: dict[str, Any] = {"lora_path": str(adapter)} if adapter else {}
    llm = Llama(str(model), n_ctx=CONTEXT, n_threads=threads or os.cpu_count(),
                verbose=False, **options)
    try:
        template = _template(llm)
        replies: list[str | None] = []
        for question in questions:
            prompt = llm.tokenize(template.render(question.messages, None).encode(),
                                  special=True)
            budget = len(llm.tokenize(question.answer.encode(), add_bos=False)) + SPARE_TOKENS
            if len(prompt) + budget > CONTEXT:
                replies.append(None)
                continue
            completion = llm.create_completion(prompt, max_tokens=budget, temperature=0.0)
            replies.append(completion["choices"][0]["text"])
        return replies
    finally:
        llm.close()


def _template(llm: Any) -> ChatTemplate:
    """The chat template the GGUF carries, as the engine reads it."""
    model = llm._model  # llama-cpp-python's loaded model; the engine reads its tokens alike
    return ChatTemplate(llm.metadata["tokenizer.chat_template"],
                        bos_token=model.token_get_text(model.token_bos()),
                        eos_token=model.token_get_text(model.token_eos()))


def run_probe(base: Path, adapter: Path, training_file: Path, limit: int = LIMIT,
              seed: int = 0, threads: int | None = None) -> ProbeResult:
    """Draw questions from ``training_file`` and ask them of ``base`` (a GGUF) without and with
    ``adapter`` (its GGUF LoRA adapter)."""
    questions = draw_questions(validate(training_file).examples, limit, seed)
    if not questions:
        return ProbeResult([])
    base_replies = ask(base, questions, threads=threads)
    tuned_replies = ask(base, questions, adapter, threads=threads)
    return ProbeResult([Answered(question, base_reply, tuned_reply)
                        for question, base_reply, tuned_reply
                        in zip(questions, base_replies, tuned_replies)
                        if base_reply is not None and tuned_reply is not None])
