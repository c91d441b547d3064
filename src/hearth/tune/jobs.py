"""Fine-tuning jobs as a caller makes them: checked, given a folder of their own, queued.

The training file is checked for structure here, at once, so a bad file is answered with its
line-numbered errors before anything is queued; the token counts against the base's context need
the base's tokenizer and are checked by the worker when it loads the base. The file is copied
into the job's folder (``<jobs_root>/<job id>/train.jsonl``), so the job survives the upload's
deletion and a worker restart.

``create`` is the API's way in: it takes what a client names (a model, file ids) and finds what
they stand for on this machine, in the caller's org.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from hearth.engines.model_files import installed_model_path
from hearth.errors import InvalidRequest, NotFound
from hearth.store import files, tune_jobs
from hearth.store.db import Database
from hearth.store.files import FileRecord
from hearth.store.owner import Owner
from hearth.store.tune_jobs import TRAINING_FILE, VALIDATION_FILE, JobRecord
from hearth.tune.data import validate
from hearth.tune.files import FINE_TUNE_PURPOSE
from hearth.tune.hyperparameters import BATCH_SIZE

ADAPTER_FILE = "adapter.gguf"  # the trained adapter, as the engine loads it
# What a job may set, with TrainConfig's names; the rest are TrainConfig's defaults.
HYPERPARAMETERS = {"epochs": int, "learning_rate": float, "batch_size": int, "seed": int,
                   "save_steps": int}


def submit(db: Database, owner: Owner, *, model: str, base_path: Path, training_file: Path,
           jobs_root: Path, hyperparameters: dict[str, Any] | None = None,
           suffix: str | None = None, file_name: str | None = None,
           validation_file: Path | None = None,
           validation_name: str | None = None) -> JobRecord:
    """Queue a job training ``base_path`` (named ``model``) on ``training_file``; with a
    ``validation_file``, its loss is reported before and after training."""
    settings = _checked(hyperparameters or {})
    examples = validate(training_file).count
    # A checkpoint at the end of each epoch, as OpenAI keeps them, unless told otherwise.
    settings.setdefault("save_steps", math.ceil(examples / settings.get("batch_size",
                                                                        BATCH_SIZE)))
    if validation_file is not None:
        validate(validation_file)
    job_id = tune_jobs.new_job_id()
    folder = Path(jobs_root) / job_id
    folder.mkdir(parents=True)
    shutil.copyfile(training_file, folder / TRAINING_FILE)
    if validation_file is not None:
        shutil.copyfile(validation_file, folder / VALIDATION_FILE)
    return tune_jobs.create_job(db, owner, job_id=job_id, model=model,
                                base_path=str(base_path),
                                training_file=file_name or Path(training_file).name,
                                folder=str(folder), hyperparameters=settings, suffix=suffix,
                                validation_file=validation_name or (
                                    validation_file.name if validation_file else None))


def create(db: Database, owner: Owner, *, model: str, training_file: str,
           validation_file: str | None, hyperparameters: dict[str, Any], suffix: str | None,
           models_dir: Path, jobs_root: Path) -> JobRecord:
    """Queue a job on the model named ``model`` (pulled, or placed in ``models_dir``) with the
    org's uploaded files of these ids; ``hyperparameters`` are ``TrainConfig``'s names."""
    base = installed_model_path(model, models_dir)
    training = _uploaded(db, owner, training_file, "training_file")
    validation = (_uploaded(db, owner, validation_file, "validation_file")
                  if validation_file is not None else None)
    return submit(db, owner, model=model, base_path=base, training_file=Path(training.path),
                  jobs_root=jobs_root, hyperparameters=hyperparameters, suffix=suffix,
                  file_name=training.id,
                  validation_file=Path(validation.path) if validation else None,
                  validation_name=validation.id if validation else None)


def _uploaded(db: Database, owner: Owner, file_id: str, param: str) -> FileRecord:
    """The org's file ``file_id``, uploaded for fine-tuning; named as ``param`` in errors."""
    try:
        found = files.get_file(db, owner.org_id, file_id)
    except NotFound:
        raise NotFound(f"No file {file_id!r} was found in this organisation: upload it with "
                       f"purpose {FINE_TUNE_PURPOSE!r} first (POST /v1/files).", param=param,
                       code="file_not_found") from None
    if found.purpose != FINE_TUNE_PURPOSE:
        raise InvalidRequest(f"File {file_id!r} was uploaded for {found.purpose!r}, not "
                             f"{FINE_TUNE_PURPOSE!r}.", param=param)
    return found


def adapter_dir(job_dir: Path) -> Path:
    """The trained adapter as peft saves it (``ADAPTER_FILE`` is its GGUF export)."""
    return Path(job_dir) / "adapter"


def fine_tuned_model_name(job: JobRecord) -> str:
    """OpenAI's naming: ``ft:BASE:ORG:SUFFIX:ID`` (the suffix may be empty)."""
    return f"ft:{job.model}:{job.org_id}:{job.suffix or ''}:{job.id.removeprefix('ftjob-')}"


def _checked(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    unknown = set(hyperparameters) - set(HYPERPARAMETERS)
    if unknown:
        raise InvalidRequest(f"unknown hyperparameters {sorted(unknown)}: use "
                             f"{', '.join(HYPERPARAMETERS)}", param="hyperparameters")
    checked = {}
    for name, value in hyperparameters.items():
        kind = HYPERPARAMETERS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (
                kind is int and value != int(value)):
            raise InvalidRequest(f"hyperparameter {name} must be a positive "
                                 f"{'whole number' if kind is int else 'number'}",
                                 param="hyperparameters")
        checked[name] = kind(value)
    return checked

