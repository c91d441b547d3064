"""``GET /v1/usage``: the caller's own tokens and energy per day, and what is left today.

Any key may read its own user's use; admins read everyone's at ``/admin/v1/usage``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from hearth.api.auth import any_key
from hearth.api.usage.protocol import Day, Quota, UsageSummary
from hearth.governance import usage
from hearth.governance.gate import Pass
from hearth.governance.plans import LEVELS, limit
from hearth.governance.principal import Principal
from hearth.store.db import Database

router = APIRouter()


def _quotas(db: Database, principal: Principal) -> list[Quota]:
    quotas = []
    for level in LEVELS:
        allowed = limit(principal.limits, "tokens_per_day", level)
        if allowed is None or (level == "key" and principal.key_id is None):
            continue
        used = usage.tokens_today(
            db, org_id=principal.org_id,
            user_id=principal.user_id if level == "user" else None,
            key_id=principal.key_id if level == "key" else None)
        quotas.append(Quota(kind="tokens_per_day", level=level, limit=allowed, used=used,
                            left=max(0, allowed - used)))
    return quotas


@router.get("/v1/usage", response_model=UsageSummary)
async def my_usage(request: Request, admitted: Annotated[Pass, Depends(any_key)],
                   days: Annotated[int, Query(ge=1, le=366)] = 30) -> UsageSummary:
    db: Database = request.app.state.db
    principal = admitted.principal
    rows = await run_in_threadpool(usage.daily, db, principal.org_id, principal.user_id,
                                   days=days)
    return UsageSummary(org_id=principal.org_id, user_id=principal.user_id,
                        plan=principal.plan, days=[Day(**vars(r)) for r in rows],
                        quotas=await run_in_threadpool(_quotas, db, principal),
                        limits=principal.limits)
