"""What an admitted caller did, put on the audit log from a route."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hearth.governance import audit
from hearth.governance.gate import Pass


async def record_action(request: Request, admitted: Pass, action: str, target: str,
                        details: dict[str, Any]) -> None:
    """One audit entry for ``admitted``'s principal in its org, written off the event loop
    (the database call blocks)."""
    principal = admitted.principal
    await run_in_threadpool(audit.record, request.app.state.db, actor=principal.actor,
                            action=action, org_id=principal.org_id, target=target,
                            details=details)
