"""``/v1/fine_tuning/jobs``: create, list, read, follow (events, checkpoints) and cancel jobs.

Thin routes: ``hearth.tune.jobs`` checks and queues a job, ``hearth.store.tune_jobs`` decides
whose jobs a request sees (its org's: another org's job is a 404), and the worker process
(started here when a job is queued, ``hearth.tune.launcher``) trains it, never this server's
event loop. Creation and cancellation go on the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from hearth.api.audited import record_action
from hearth.api.auth import chat_key, fine_tuner, fine_tuning_editor
from hearth.api.fine_tuning.protocol import (
    CHECKPOINT_PREFIX,
    EVENT_PREFIX,
    CheckpointList,
    CreateJob,
    EventList,
    FineTuningJob,
    JobCheckpoint,
    JobEvent,
    JobList,
    cursor_number,
)
from hearth.api.json_body import JSONBodyRoute
from hearth.api.openapi import errors
from hearth.config import Settings
from hearth.governance.gate import Pass
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.paging import page
from hearth.tune import jobs
from hearth.tune.checkpoints import list_checkpoints
from hearth.tune.launcher import WorkerLauncher, jobs_folder

router = APIRouter(route_class=JSONBodyRoute, responses=errors(404))

Reader = Annotated[Pass, Depends(chat_key)]
JobId = Annotated[str, Path(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100)]
After = Annotated[str | None, Query(max_length=64)]


def _db(request: Request) -> Database:
    return request.app.state.db


@router.post("/v1/fine_tuning/jobs", response_model=FineTuningJob)
async def create_job(body: CreateJob, request: Request,
                     admitted: Annotated[Pass, Depends(fine_tuner)]) -> FineTuningJob:
    """Queue a LoRA fine-tuning job on a model this server has, with an uploaded file."""
    settings: Settings = request.app.state.settings
    job = await run_in_threadpool(
        jobs.create, _db(request), admitted.principal.owner_for(None), model=body.model,
        training_file=body.training_file, validation_file=body.validation_file,
        hyperparameters=body.train_settings(), suffix=body.suffix,
        models_dir=settings.models_dir, jobs_root=jobs_folder(settings.home))
    await record_action(request, admitted, "fine_tuning.job.create", job.id,
                 {"model": job.model, "training_file": job.training_file,
                  "validation_file": job.validation_file})
    launcher: WorkerLauncher = request.app.state.tune_launcher
    await run_in_threadpool(launcher.ensure_running)
    return FineTuningJob.from_record(job)


@router.get("/v1/fine_tuning/jobs", response_model=JobList)
async def list_jobs(request: Request, admitted: Reader, after: After = None,
                    limit: Limit = 20) -> JobList:
    """The org's jobs, newest first; ``after`` is the previous page's last job id."""
    found = await run_in_threadpool(tune_jobs.list_jobs, _db(request),
                                    admitted.principal.org_id, limit + 1, after)
    shown, more = page(found, limit)
    return JobList(data=[FineTuningJob.from_record(job) for job in shown], has_more=more)


@router.get("/v1/fine_tuning/jobs/{fine_tuning_job_id}", response_model=FineTuningJob)
async def get_job(request: Request, fine_tuning_job_id: JobId,
                  admitted: Reader) -> FineTuningJob:
    job = await run_in_threadpool(tune_jobs.get_job, _db(request), admitted.principal.org_id,
                                  fine_tuning_job_id)
    return FineTuningJob.from_record(job)


@router.get("/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", response_model=EventList)
async def list_events(request: Request, fine_tuning_job_id: JobId, admitted: Reader,
                      after: After = None, limit: Limit = 20) -> EventList:
    """The job's log, newest first; a training step's event carries its figures in ``data``
    (step, total_steps, train_loss, tokens, tokens_per_second, seconds_left)."""
    before = cursor_number(after, EVENT_PREFIX) if after else None
    found = await run_in_threadpool(tune_jobs.list_events, _db(request),
                                    admitted.principal.org_id, fine_tuning_job_id, limit + 1,
                                    before)
    shown, more = page(found, limit)
    return EventList(data=[JobEvent.from_record(event) for event in shown], has_more=more)


@router.get("/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints",
            response_model=CheckpointList)
async def list_job_checkpoints(request: Request, fine_tuning_job_id: JobId, admitted: Reader,
                               after: After = None, limit: Limit = 10) -> CheckpointList:
    """The checkpoints kept on disk (the last two), newest first."""
    job = await run_in_threadpool(tune_jobs.get_job, _db(request), admitted.principal.org_id,
                                  fine_tuning_job_id)
    saved = await run_in_threadpool(list_checkpoints, job.folder)
    if after:
        below = cursor_number(after, CHECKPOINT_PREFIX)
        saved = [checkpoint for checkpoint in saved if checkpoint.step < below]
    shown, more = page(saved, limit)
    data = [JobCheckpoint.of(job, checkpoint) for checkpoint in shown]
    return CheckpointList(data=data, has_more=more, first_id=data[0].id if data else None,
                          last_id=data[-1].id if data else None)


@router.post("/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel", response_model=FineTuningJob)
async def cancel_job(request: Request, fine_tuning_job_id: JobId,
                     admitted: Annotated[Pass, Depends(fine_tuning_editor)]) -> FineTuningJob:
    """A queued job is cancelled at once, a running one after the step it is on."""
    job = await run_in_threadpool(tune_jobs.request_cancel, _db(request),
                                  admitted.principal.org_id, fine_tuning_job_id)
    await record_action(request, admitted, "fine_tuning.job.cancel", job.id, {"status": job.status})
    return FineTuningJob.from_record(job)
