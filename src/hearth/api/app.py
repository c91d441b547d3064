"""The FastAPI application: wiring only. Logic lives in the layers below."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from hearth.api import health
from hearth.api.admin.router import router as admin_router
from hearth.api.body_limit import BodyLimitMiddleware
from hearth.api.chat.route import ChatCompletionsRoute
from hearth.api.chat.serving import ChatServing
from hearth.api.conversations.router import router as conversations_router
from hearth.api.embeddings.router import router as embeddings_router
from hearth.api.errors import install_error_handlers
from hearth.api.files.router import router as files_router
from hearth.api.fine_tuning.router import router as fine_tuning_router
from hearth.api.generation import Generation
from hearth.api.hot_route import AppWithHotRoute
from hearth.api.memories.router import router as memories_router
from hearth.api.metrics import Metrics, MetricsMiddleware
from hearth.api.models.router import router as models_router
from hearth.api.models.serving import ModelsServing
from hearth.api.openapi import install_openapi
from hearth.api.responses.router import openapi as responses_openapi
from hearth.api.responses.router import router as responses_router
from hearth.api.responses.serving import ResponsesServing
from hearth.api.usage.router import router as usage_router
from hearth.assistant.turn import Assistant
from hearth.config import Settings
from hearth.engines.base import Engine
from hearth.engines.registry import create_engine
from hearth.governance.energy import EnergyMeter
from hearth.governance.gate_writer import GateWriter
from hearth.governance.retention import purge
from hearth.memory.llm_extract import configured_extractor
from hearth.memory.service import MemoryService
from hearth.memory.worker import MemoryWorker
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.tune.launcher import WorkerLauncher

log = logging.getLogger(__name__)


async def _purge_periodically(db: Database, every_seconds: int) -> None:
    """Retention runs in every worker; a purge finding nothing expired costs a few queries."""
    while True:
        try:
            await run_in_threadpool(purge, db)
        except Exception:  # a failed purge is retried next time; serving goes on
            log.exception("retention purge failed")
        await asyncio.sleep(every_seconds)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine is loaded here (not per request) unless one is given."""
    engine = engine or create_engine(settings)
    db = Database.from_settings(settings)
    db.migrate()
    extractor, completer = configured_extractor(settings, engine)
    memory = MemoryService(db, extractor=extractor) if settings.memory else None
    worker = MemoryWorker(memory) if memory else None
    gate = GateWriter(db)
    tune_launcher = WorkerLauncher(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if completer:
            completer.bind(asyncio.get_running_loop())
        if worker:
            worker.start()  # also picks up jobs left pending by a previous run
        purger = asyncio.create_task(_purge_periodically(db, settings.purge_interval_seconds))
        if await run_in_threadpool(tune_jobs.waiting, db):  # left by a stopped worker
            await run_in_threadpool(tune_launcher.ensure_running)
        yield
        purger.cancel()
        with suppress(asyncio.CancelledError):
            await purger
        gate.close()
        if worker:
            await run_in_threadpool(worker.stop)
        await engine.close()

    app = AppWithHotRoute(title="hearth", version="0.1.0", lifespan=lifespan)
    metrics = Metrics(engine.queue_depth)
    app.state.settings = settings
    app.state.engine = engine
    app.state.db = db
    app.state.metrics = metrics
    app.state.started_at = int(time.time())
    app.state.memory = memory
    app.state.gate = gate
    app.state.tune_launcher = tune_launcher
    app.state.energy = EnergyMeter(settings.energy_watts)
    app.state.models = ModelsServing(engine, db, app.state.started_at)
    app.state.generation = Generation(Assistant(engine, db, memory, worker), app.state.models,
                                      metrics, gate, app.state.energy,
                                      settings.max_tokens_limit)
    app.state.chat = ChatServing(app.state.generation)
    app.state.responses = ResponsesServing(app.state.generation, db)
    install_error_handlers(app)
    for router in (health.router, models_router, embeddings_router,
                   conversations_router, responses_router, memories_router, usage_router,
                   files_router, fine_tuning_router, admin_router):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       upload_paths={"/v1/files": settings.max_upload_bytes})
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # The gateway's route, ahead of FastAPI's layers but inside the same two middlewares.
    chat_route = ChatCompletionsRoute(app.state.chat, gate)
    chat_paths, chat_schemas = chat_route.openapi()
    responses_paths, responses_schemas = responses_openapi()
    install_openapi(app, {**chat_paths, **responses_paths}, {**chat_schemas, **responses_schemas})
    app.serve_ahead(chat_route.path, MetricsMiddleware(BodyLimitMiddleware(
        chat_route, max_bytes=settings.max_body_bytes), metrics=metrics))
    return app
