"""``/v1/models``: the base model this server runs and the caller's org's fine-tuned models."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hearth.api.auth import admin_key, any_key
from hearth.api.json_body import JSONBodyRoute
from hearth.api.models.serving import ModelsServing
from hearth.api.openapi import errors
from hearth.governance.gate import Pass

router = APIRouter(route_class=JSONBodyRoute)


def _serving(request: Request) -> ModelsServing:
    return request.app.state.models


@router.get("/v1/models")
async def list_models(request: Request, admitted: Annotated[Pass, Depends(any_key)]) -> dict:
    data = await _serving(request).list(admitted.principal.org_id)
    return {"object": "list", "data": data}


@router.get("/v1/models/{model_id:path}", responses=errors(404))
async def get_model(model_id: str, request: Request,
                    admitted: Annotated[Pass, Depends(any_key)]) -> dict:
    return await _serving(request).card(model_id, admitted.principal.org_id)


@router.delete("/v1/models/{model_id:path}", responses=errors(400, 404))
async def delete_model(model_id: str, request: Request,
                       admitted: Annotated[Pass, Depends(admin_key)]) -> dict:
    """Delete a fine-tuned model of the caller's org (an org admin's act: the model is the
    whole org's)."""
    return await _serving(request).delete(model_id, admitted.principal)
