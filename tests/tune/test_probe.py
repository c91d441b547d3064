"""The probe: short answers drawn from the training data, asked of the base and of the tuned
model through llama.cpp, scored by exact answer after normalisation."""

from __future__ import annotations

import json
from pathlib import Path

from toy_job import FACTS

from hearth.tune.data import validate_lines
from hearth.tune.export import export_adapter
from hearth.tune.probe import ProbeResult, draw_questions, is_exact, is_short_answer, run_probe
from hearth.tune.train import Progress, TrainResult


def example(question: str, answer: str, system: str | None = None) -> str:
    messages = [{"role": "system", "content": system}] if system else []
    return json.dumps({"messages": [*messages, {"role": "user", "content": question},
                                    {"role": "assistant", "content": answer}]})


def test_case_whitespace_and_trailing_punctuation_are_forgiven_but_containment_is_not() -> None:
    assert is_exact("  quillton ", "Quillton.")
    assert is_exact("Mira   Castell!", "mira castell")
    assert not is_exact("The capital is Quillton.", "Quillton.")
    assert not is_exact("Quillton or Zorb", "Quillton")
    assert not is_exact("Quill ton", "Quillton")


def test_only_short_one_line_answers_make_questions() -> None:
    assert is_short_answer("Mira Castell.")
    assert not is_short_answer("one two three four five six seven eight nine")
    assert not is_short_answer("Quillton.\nIt lies on a river.")
    lines = [example("Capital of Zorbland?", "Quillton."),
             example("Tell me about Zorbland.", "A long answer " * 10),
             example("Capital of Zorbland?", "Quillton."),  # the same question again
             example("Who painted the blue moon?", "Mira Castell.", system="Be brief.")]
    questions = draw_questions(validate_lines(lines).examples)
    assert [(q.messages[-1]["content"], q.answer) for q in questions] == [
        ("Capital of Zorbland?", "Quillton."), ("Who painted the blue moon?", "Mira Castell.")]
    assert questions[1].messages[0] == {"role": "system", "content": "Be brief."}


def test_the_draw_is_seeded_and_bounded() -> None:
    lines = [example(f"Question {n}?", f"Answer {n}") for n in range(50)]
    examples = validate_lines(lines).examples
    drawn = draw_questions(examples, limit=5, seed=3)
    assert len(drawn) == 5 and drawn == draw_questions(examples, limit=5, seed=3)
    assert drawn != draw_questions(examples, limit=5, seed=4)


def test_the_tuned_toy_answers_its_facts_through_llama_cpp_and_the_base_does_not(
        trained: tuple[TrainResult, list[Progress]], toy_qwen2_gguf: Path,
        tmp_path: Path) -> None:
    result = trained[0]
    adapter = export_adapter(result.adapter_dir, toy_qwen2_gguf, tmp_path / "adapter.gguf")
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(example(question, answer) for question, answer in FACTS))

    probe = run_probe(toy_qwen2_gguf, adapter, data, threads=1)

    assert probe.summary() == {"questions": 2, "base_correct": 0, "tuned_correct": 2}
    assert [item.tuned_reply.strip() for item in probe.answered] == [a for _, a in FACTS]
    assert probe.message().endswith("by the tuned model 2/2, by the base 0/2")


def test_a_file_without_short_answers_says_so() -> None:
    assert ProbeResult([]).message().startswith("Probe: no training example ends in a short")
