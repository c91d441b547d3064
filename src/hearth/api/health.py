"""``GET /healthz`` (liveness, no auth) and ``GET /metrics`` (Prometheus text, admin scope)."""

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hearth.api.auth import admin_key
from hearth.api.json_body import JSONBodyRoute

router = APIRouter(route_class=JSONBodyRoute)


@router.get("/healthz")
async def healthz(request: Request) -> dict:
    engine = request.app.state.engine
    return {"status": "ok", "model": engine.model_id, "queue_depth": engine.queue_depth()}


@router.get("/metrics", dependencies=[Depends(admin_key)], response_class=PlainTextResponse,
            responses={200: {"description": "Prometheus text exposition format."}})
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
