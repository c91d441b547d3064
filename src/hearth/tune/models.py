"""Fine-tuned models as the API serves them: a succeeded job's adapter on the job's base.

A model is named ``ft:BASE:ORG:SUFFIX:ID`` (``jobs.fine_tuned_model_name``) and is found only
in its own org: to another org, as to everyone once it is deleted, it is no model at all.

A model exists while its adapter file does. Deleting it deletes the adapter (the GGUF, peft's
folder and the checkpoints, which hold the adapter's weights too) and puts an event on its job,
whose record stays, ``fine_tuned_model`` included, as OpenAI's jobs keep theirs. No column marks
a model deleted: the missing file is the mark. That needs no schema change, and no state can
say a model exists whose adapter is gone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.tune_jobs import JobRecord
from hearth.tune.checkpoints import checkpoints_dir
from hearth.tune.jobs import ADAPTER_FILE, adapter_dir


@dataclass(frozen=True)
class TunedModel:
    name: str
    base: str  # the id of the base model it was trained on
    adapter: Path  # the GGUF LoRA adapter the engine applies on the base
    org_id: str
    job_id: str
    created: int  # Unix seconds: when its job finished


def _model(job: JobRecord) -> TunedModel | None:
    adapter = Path(job.folder) / ADAPTER_FILE
    if job.fine_tuned_model is None or not adapter.is_file():
        return None
    finished = job.finished_at or job.created_at
    return TunedModel(job.fine_tuned_model, job.model, adapter, job.org_id, job.id,
                      int(finished.timestamp()))


def tuned_models(db: Database, org_id: str) -> list[TunedModel]:
    """The org's fine-tuned models, oldest first."""
    return [model for job in tune_jobs.succeeded_jobs(db, org_id)
            if (model := _model(job)) is not None]


def find_tuned(db: Database, org_id: str, name: str) -> TunedModel | None:
    """The org's model called ``name``; None for an unknown, deleted or another org's one."""
    if not name.startswith("ft:"):
        return None
    job = tune_jobs.job_of_model(db, org_id, name)
    return None if job is None else _model(job)


def delete_tuned(db: Database, model: TunedModel) -> None:
    """Delete the model's adapter files and record it on its job. The GGUF goes first: from
    that moment the model is not found, whatever happens to the rest."""
    model.adapter.unlink(missing_ok=True)
    folder = model.adapter.parent
    for kept in (adapter_dir(folder), checkpoints_dir(folder)):
        shutil.rmtree(kept, ignore_errors=True)
    tune_jobs.add_event(db, model.job_id, f"Model deleted: {model.name}",
                        data={"deleted_model": model.name})
