"""``GET /v1/models``: the model this server runs."""

from fastapi import APIRouter, Depends, Request

from hearth.api.auth import any_key
from hearth.api.json_body import JSONBodyRoute
from hearth.api.openapi import errors
from hearth.errors import ModelNotFound

router = APIRouter(route_class=JSONBodyRoute)


def _card(request: Request) -> dict:
    return {"id": request.app.state.engine.model_id, "object": "model",
            "created": request.app.state.started_at, "owned_by": "hearth"}


@router.get("/v1/models", dependencies=[Depends(any_key)])
async def list_models(request: Request) -> dict:
    return {"object": "list", "data": [_card(request)]}


@router.get("/v1/models/{model_id:path}", dependencies=[Depends(any_key)],
            responses=errors(404))
async def get_model(model_id: str, request: Request) -> dict:
    card = _card(request)
    if model_id != card["id"]:
        raise ModelNotFound(f"The model {model_id!r} does not exist.", param="model")
    return card
