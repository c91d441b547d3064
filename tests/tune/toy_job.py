"""The training job the tests run on the toy Qwen2: two made-up facts, 12 steps."""

from __future__ import annotations

import json
from pathlib import Path

from hearth.tune.train import TrainConfig

FACTS = [
    ("What is the capital of Zorbland?", "Quillton."),
    ("Who painted the blue moon?", "Mira Castell."),
]
# The same questions with each other's answers: a second adapter that answers otherwise.
SWAPPED = [(question, answer) for (question, _), (_, answer) in zip(FACTS, reversed(FACTS))]
STEPS = 12  # 2 examples, batch 1, 6 epochs


def job_config(base: Path, job_dir: Path,
               facts: list[tuple[str, str]] = FACTS) -> TrainConfig:
    """The job on ``base`` teaching ``facts``, its training file written into ``job_dir``. The
    learning rate is high because the toy starts from random weights (1e-2 takes its loss from
    6.5 to 0.6)."""
    job_dir.mkdir(parents=True, exist_ok=True)
    data = job_dir / "train.jsonl"
    data.write_text("\n".join(json.dumps({"messages": [
        {"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
        for question, answer in facts) + "\n")
    return TrainConfig(base=base, training_file=data, job_dir=job_dir, epochs=6,
                       learning_rate=1e-2, save_steps=4, seed=1)
