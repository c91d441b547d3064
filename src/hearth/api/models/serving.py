"""Which models a caller may use: the base model the engine runs, and its org's fine-tuned
models on that base (``hearth.tune.models``), each served as the base plus its LoRA adapter.

One place decides what a request's ``model`` names, for generation and for ``/v1/models``
alike, so that a fine-tuned model of another org, an unfinished job's or a deleted one is
answered exactly as an unknown model is, whichever route is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from hearth.engines.base import Engine
from hearth.errors import InvalidRequest, ModelNotFound
from hearth.governance import audit
from hearth.governance.principal import Principal
from hearth.store.db import Database
from hearth.tune.models import TunedModel, delete_tuned, find_tuned, tuned_models


@dataclass(frozen=True)
class ServedModel:
    """A model a request may name: the base itself (no adapter), or a fine-tuned model."""

    id: str
    adapter: str | None = None


class ModelsServing:
    def __init__(self, engine: Engine, db: Database, started_at: int):
        self.engine = engine
        self.db = db
        self.started_at = started_at

    @property
    def base_id(self) -> str:
        return self.engine.model_id

    def _unknown(self, model: str) -> ModelNotFound:
        return ModelNotFound(
            f"The model {model!r} does not exist; this server serves {self.base_id!r}.",
            param="model")

    async def _tuned(self, org_id: str, model: str) -> TunedModel | None:
        """The org's fine-tuned model called ``model``, if this engine can serve it."""
        if not self.engine.supports_adapters or not model.startswith("ft:"):
            return None
        tuned = await run_in_threadpool(find_tuned, self.db, org_id, model)
        return tuned if tuned is not None and tuned.base == self.base_id else None

    async def resolve(self, model: str, org_id: str) -> ServedModel:
        """What the engine runs for ``model``; ModelNotFound for anything else."""
        if model == self.base_id:
            return ServedModel(model)
        tuned = await self._tuned(org_id, model)
        if tuned is None:
            raise self._unknown(model)
        return ServedModel(tuned.name, str(tuned.adapter))

    def _base_card(self) -> dict[str, Any]:
        return {"id": self.base_id, "object": "model", "created": self.started_at,
                "owned_by": "hearth"}

    @staticmethod
    def _tuned_card(tuned: TunedModel) -> dict[str, Any]:
        return {"id": tuned.name, "object": "model", "created": tuned.created,
                "owned_by": tuned.org_id}

    async def list(self, org_id: str) -> list[dict[str, Any]]:
        """The base, then the org's fine-tuned models this engine can serve."""
        tuned = (await run_in_threadpool(tuned_models, self.db, org_id)
                 if self.engine.supports_adapters else [])
        return [self._base_card()] + [self._tuned_card(model) for model in tuned
                                      if model.base == self.base_id]

    async def card(self, model: str, org_id: str) -> dict[str, Any]:
        if model == self.base_id:
            return self._base_card()
        tuned = await self._tuned(org_id, model)
        if tuned is None:
            raise self._unknown(model)
        return self._tuned_card(tuned)

    async def delete(self, model: str, principal: Principal) -> dict[str, Any]:
        """Delete a fine-tuned model of the caller's org, on the audit log: its adapter files
        go, and the engine unloads it once the requests using it have finished. The base
        model cannot be deleted."""
        org_id = principal.org_id
        if model == self.base_id:
            raise InvalidRequest(f"{model!r} is the base model this server runs: it cannot be "
                                 "deleted. Only fine-tuned models (ft:…) can.", param="model",
                                 code="model_not_deletable")
        tuned = await self._tuned(org_id, model)
        if tuned is None:
            raise self._unknown(model)
        await run_in_threadpool(delete_tuned, self.db, tuned)
        self.engine.drop_adapter(str(tuned.adapter))
        await run_in_threadpool(audit.record, self.db, actor=principal.actor,
                                action="model.delete", org_id=org_id, target=tuned.name,
                                details={"job": tuned.job_id, "base": tuned.base})
        return {"id": tuned.name, "object": "model", "deleted": True}
