"""A job's checkpoints as a client sees them: the step each was saved at, when, and the
training loss there, read from what transformers' Trainer wrote (``checkpoint-N/
trainer_state.json``). Trainer keeps the last two; a resumed run starts from the newest.
Light on imports (no torch): the API lists checkpoints while the worker trains.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_FOLDER = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class Checkpoint:
    step: int
    created_at: datetime
    train_loss: float | None  # None where Trainer had not logged the step's loss


def checkpoints_dir(job_dir: Path) -> Path:
    return Path(job_dir) / "checkpoints"


def list_checkpoints(job_dir: Path) -> list[Checkpoint]:
    """The job's checkpoints on disk, newest first; none before the first is saved."""
    folder = checkpoints_dir(job_dir)
    found = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _FOLDER.match(entry.name)
        state = entry / "trainer_state.json"
        if match is None or not state.is_file():
            continue  # a checkpoint still being written has no state yet
        step = int(match[1])
        found.append(Checkpoint(step=step, train_loss=_loss_at(state, step),
                                created_at=datetime.fromtimestamp(state.stat().st_mtime, UTC)))
    return sorted(found, key=lambda checkpoint: checkpoint.step, reverse=True)


def _loss_at(state: Path, step: int) -> float | None:
    history = json.loads(state.read_text()).get("log_history", [])
    return next((float(entry["loss"]) for entry in reversed(history)
                 if entry.get("step") == step and "loss" in entry), None)
