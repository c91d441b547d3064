"""Schemas of ``/v1/fine_tuning/jobs``, in OpenAI's shapes: ``fine_tuning.job``,
``fine_tuning.job.event``, ``fine_tuning.job.checkpoint`` and cursor lists of them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hearth.errors import InvalidRequest
from hearth.store.tune_jobs import EventRecord, JobRecord
from hearth.tune import hyperparameters
from hearth.tune.checkpoints import Checkpoint
from hearth.tune.jobs import fine_tuned_model_name

Auto = Literal["auto"]
MAX_SEED = 2**31 - 1
EVENT_PREFIX = "ftevent-"
CHECKPOINT_PREFIX = "ftckpt-"


class Hyperparameters(BaseModel):
    """OpenAI's names; "auto" keeps hearth's default (``hearth.tune.hyperparameters``)."""

    model_config = ConfigDict(extra="forbid")

    n_epochs: Auto | Annotated[int, Field(strict=True, ge=1, le=100)] = "auto"
    batch_size: Auto | Annotated[int, Field(strict=True, ge=1, le=256)] = "auto"
    # Up to 1000x the base rate of 2e-4: a model trained from scratch (a test's) needs ~50x.
    learning_rate_multiplier: Auto | Annotated[float, Field(gt=0, le=1000)] = "auto"


class Supervised(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hyperparameters: Hyperparameters = Hyperparameters()


class Method(BaseModel):
    """How to train; hearth trains ``supervised`` (LoRA on chat examples) only."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["supervised"]
    supervised: Supervised = Supervised()


class CreateJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, Field(min_length=1, max_length=128)]
    training_file: Annotated[str, Field(min_length=1, max_length=64)]
    validation_file: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None
    # Part of the fine-tuned model's name (ft:BASE:ORG:SUFFIX:ID), so no colons in it.
    suffix: Annotated[str, Field(min_length=1, max_length=64,
                                 pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    seed: Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)] | None = None

    def train_settings(self) -> dict[str, Any]:
        """``TrainConfig``'s settings for this request (hyperparameters given either way)."""
        if self.hyperparameters is not None and self.method is not None:
            raise InvalidRequest("Give the hyperparameters once: in method.supervised (as "
                                 "OpenAI now asks) or at the top level, not both.",
                                 param="hyperparameters")
        chosen = self.method.supervised.hyperparameters if self.method else (
            self.hyperparameters or Hyperparameters())
        return hyperparameters.from_openai(**chosen.model_dump(), seed=self.seed)


class JobError(BaseModel):
    code: str
    message: str
    param: str | None


class JobHyperparameters(BaseModel):
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float


class JobSupervised(BaseModel):
    hyperparameters: JobHyperparameters


class JobMethod(BaseModel):
    type: Literal["supervised"] = "supervised"
    supervised: JobSupervised


def _unix(when: Any) -> int | None:
    return int(when.timestamp()) if when is not None else None


class FineTuningJob(BaseModel):
    id: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    created_at: int
    error: JobError | None
    fine_tuned_model: str | None
    finished_at: int | None
    hyperparameters: JobHyperparameters
    method: JobMethod
    model: str
    organization_id: str
    result_files: list[str] = []
    seed: int
    status: Literal["validating_files", "queued", "running", "succeeded", "failed",
                    "cancelled"]
    trained_tokens: int | None
    training_file: str
    validation_file: str | None
    estimated_finish: int | None

    @classmethod
    def from_record(cls, job: JobRecord) -> FineTuningJob:
        settings = JobHyperparameters(**hyperparameters.to_openai(job.hyperparameters))
        error = JobError(code=job.error_code or "training_failed", message=job.error,
                         param=job.error_param) if job.error else None
        return cls(id=job.id, created_at=_unix(job.created_at), error=error,
                   fine_tuned_model=job.fine_tuned_model, finished_at=_unix(job.finished_at),
                   hyperparameters=settings,
                   method=JobMethod(supervised=JobSupervised(hyperparameters=settings)),
                   model=job.model, organization_id=job.org_id,
                   seed=job.hyperparameters.get("seed", hyperparameters.SEED),
                   status=job.status, trained_tokens=job.trained_tokens,
                   training_file=job.training_file, validation_file=job.validation_file,
                   estimated_finish=_unix(job.estimated_finish)
                   if job.status == "running" else None)


class JobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJob]
    has_more: bool


class JobEvent(BaseModel):
    id: str
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    data: dict[str, Any] | None
    type: Literal["message", "metrics"]

    @classmethod
    def from_record(cls, event: EventRecord) -> JobEvent:
        return cls(id=f"{EVENT_PREFIX}{event.id}", created_at=_unix(event.created_at),
                   level=event.level, message=event.message, data=event.data,
                   type="metrics" if event.data and "step" in event.data else "message")


class EventList(BaseModel):
    object: Literal["list"] = "list"
    data: list[JobEvent]
    has_more: bool


class CheckpointMetrics(BaseModel):
    step: int
    train_loss: float | None


class JobCheckpoint(BaseModel):
    id: str
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    metrics: CheckpointMetrics
    step_number: int

    @classmethod
    def of(cls, job: JobRecord, checkpoint: Checkpoint) -> JobCheckpoint:
        return cls(id=checkpoint_id(job.id, checkpoint.step),
                   created_at=_unix(checkpoint.created_at),
                   fine_tuned_model_checkpoint=f"{fine_tuned_model_name(job)}:ckpt-step-"
                                               f"{checkpoint.step}",
                   fine_tuning_job_id=job.id, step_number=checkpoint.step,
                   metrics=CheckpointMetrics(step=checkpoint.step,
                                             train_loss=checkpoint.train_loss))


class CheckpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[JobCheckpoint]
    has_more: bool
    first_id: str | None
    last_id: str | None


def checkpoint_id(job_id: str, step: int) -> str:
    return f"{CHECKPOINT_PREFIX}{job_id.removeprefix('ftjob-')}-{step}"


def cursor_number(cursor: str, prefix: str, param: str = "after") -> int:
    """The number at the end of an event or checkpoint id given as a page cursor."""
    number = cursor.removeprefix(prefix).rpartition("-")[2]
    if not (cursor.startswith(prefix) and number.isascii() and number.isdigit()) \
            or len(number) > 18:
        raise InvalidRequest(f"{cursor!r} is not an id from this list (they start with "
                             f"{prefix!r}).", param=param)
    return int(number)
