"""A live `hearth serve` that can fine-tune the toy Qwen2, for the API and CLI tests.

The toy's GGUF is placed in the server's models folder as ``toy-qwen2.gguf``, so jobs name it
``toy-qwen2`` as they would name any model the operator put there. Chat runs on the fake engine
(its words do not matter here); the server starts the real worker process for each job.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from live_server import FAKE_ENV, LiveServer, start_server

TOY_MODEL = "toy-qwen2"
FACTS = [("What is the capital of Zorbland?", "Quillton."),
         ("Who painted the blue moon?", "Mira Castell.")]
# The toy starts from random weights: 50x the base learning rate (1e-2) is what it needs.
TOY_HYPERPARAMETERS = {"n_epochs": 2, "learning_rate_multiplier": 50}
STEPS = 4  # 2 examples, batch 1, 2 epochs


def training_lines() -> str:
    return "\n".join(json.dumps({"messages": [{"role": "user", "content": question},
                                              {"role": "assistant", "content": answer}]})
                     for question, answer in FACTS) + "\n"


def start_tune_server(home: Path, toy_gguf: Path, env: dict[str, str] | None = None
                      ) -> LiveServer:
    models = home / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(toy_gguf, models / f"{TOY_MODEL}.gguf")
    # An idle worker leaves soon, so none outlives its test for long.
    return start_server(home, env={**FAKE_ENV, "HEARTH_TUNE_WORKER_IDLE_SECONDS": "2",
                                   **(env or {})})


def wait_until_finished(retrieve: Any, job_id: str, timeout: float = 240) -> Any:
    """Poll ``retrieve(job_id)`` until the job has ended; the job, or an error on time out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = retrieve(job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")
