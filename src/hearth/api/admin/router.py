"""``/admin/v1``: organisations, users, keys, plans, usage, audit and retention.

Every route needs a key with the ``admin`` scope (owners and admins only). Admins of the
operator's org ("local") manage every org; other admins see and change only their own, and
another org's resources look exactly like missing ones (404). Plans, new orgs and plan
changes are the operator's alone, so nobody can raise their own limits.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from hearth.api.admin.protocol import (
    AuditObject,
    AuditVerification,
    CreatedKey,
    CreateKey,
    CreateOrg,
    CreateUser,
    EditOrg,
    EditUser,
    KeyObject,
    OrgObject,
    PlanObject,
    SetPassword,
    SetPlan,
    UserObject,
)
from hearth.api.auth import admin_key
from hearth.api.json_body import JSONBodyRoute
from hearth.api.openapi import errors
from hearth.errors import Forbidden, NotFound
from hearth.governance import audit, retention, sessions, tenancy, usage
from hearth.governance.gate import Pass
from hearth.governance.principal import Principal
from hearth.governance.roles import Role
from hearth.store.db import Database

router = APIRouter(prefix="/admin/v1", route_class=JSONBodyRoute)


async def admin(admitted: Annotated[Pass, Depends(admin_key)]) -> Principal:
    return admitted.principal


Admin = Annotated[Principal, Depends(admin)]


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DB = Annotated[Database, Depends(database)]


def _reachable(principal: Principal, org_id: str) -> str:
    if not principal.is_platform_admin and org_id != principal.org_id:
        raise NotFound(f"No organisation {org_id!r}.", code="org_not_found")
    return org_id


def _operator_only(principal: Principal, what: str) -> None:
    if not principal.is_platform_admin:
        raise Forbidden(f"Only the operator's admins may {what}.")


# --- organisations ----------------------------------------------------------------------


@router.get("/orgs", response_model=list[OrgObject])
async def list_orgs(principal: Admin, db: DB) -> list[OrgObject]:
    if principal.is_platform_admin:
        orgs = await run_in_threadpool(tenancy.list_orgs, db)
    else:
        orgs = [await run_in_threadpool(tenancy.get_org, db, principal.org_id)]
    return [OrgObject.of(o) for o in orgs]


@router.post("/orgs", response_model=OrgObject, status_code=201, responses=errors(404, 409))
async def create_org(body: CreateOrg, principal: Admin, db: DB) -> OrgObject:
    _operator_only(principal, "create organisations")
    org = await run_in_threadpool(tenancy.create_org, db, principal.actor, body.id,
                                  plan=body.plan)
    return OrgObject.of(org)


@router.get("/orgs/{org_id}", response_model=OrgObject, responses=errors(404))
async def get_org(org_id: str, principal: Admin, db: DB) -> OrgObject:
    org = await run_in_threadpool(tenancy.get_org, db, _reachable(principal, org_id))
    return OrgObject.of(org)


@router.patch("/orgs/{org_id}", response_model=OrgObject, responses=errors(404))
async def edit_org(org_id: str, body: EditOrg, principal: Admin, db: DB) -> OrgObject:
    changes = body.model_dump(exclude_unset=True)
    if "plan" in changes:
        _operator_only(principal, "change an organisation's plan")
    org = await run_in_threadpool(tenancy.update_org, db, principal.actor,
                                  _reachable(principal, org_id), changes)
    return OrgObject.of(org)


# --- users ------------------------------------------------------------------------------


@router.get("/orgs/{org_id}/users", response_model=list[UserObject], responses=errors(404))
async def list_users(org_id: str, principal: Admin, db: DB) -> list[UserObject]:
    users = await run_in_threadpool(tenancy.list_users, db, _reachable(principal, org_id))
    return [UserObject.of(u) for u in users]


def _by_owner(principal: Principal) -> bool:
    return principal.role == Role.OWNER or principal.is_platform_admin


def _may_grant(principal: Principal, role: str) -> None:
    if role == Role.OWNER and principal.role != Role.OWNER and not principal.is_platform_admin:
        raise Forbidden("Only an owner may make or unmake an owner.")


@router.post("/orgs/{org_id}/users", response_model=UserObject, status_code=201,
             responses=errors(404, 409))
async def create_user(org_id: str, body: CreateUser, principal: Admin, db: DB) -> UserObject:
    _may_grant(principal, body.role)
    if body.plan is not None:
        _operator_only(principal, "give a user their own plan")
    user = await run_in_threadpool(tenancy.create_user, db, principal.actor,
                                   _reachable(principal, org_id), body.user_id,
                                   role=body.role, plan=body.plan)
    return UserObject.of(user)


@router.patch("/orgs/{org_id}/users/{user_id}", response_model=UserObject,
              responses=errors(404))
async def edit_user(org_id: str, user_id: str, body: EditUser, principal: Admin,
                    db: DB) -> UserObject:
    user = await run_in_threadpool(
        tenancy.set_role, db, principal.actor, _reachable(principal, org_id), user_id,
        body.role, by_owner=_by_owner(principal))
    return UserObject.of(user)


@router.put("/orgs/{org_id}/users/{user_id}/password", response_model=UserObject,
            responses=errors(403, 404))
async def set_password(org_id: str, user_id: str, body: SetPassword, principal: Admin,
                       db: DB) -> UserObject:
    """Let the user sign in to the web app with this password (their keys keep working)."""
    user = await run_in_threadpool(
        tenancy.set_password, db, principal.actor, _reachable(principal, org_id), user_id,
        body.password, by_owner=_by_owner(principal))
    return UserObject.of(user)


@router.delete("/orgs/{org_id}/users/{user_id}/password", response_model=UserObject,
               responses=errors(403, 404))
async def clear_password(org_id: str, user_id: str, principal: Admin, db: DB) -> UserObject:
    """The user signs in with a key only; their password sessions end."""
    user = await run_in_threadpool(
        tenancy.set_password, db, principal.actor, _reachable(principal, org_id), user_id,
        None, by_owner=_by_owner(principal))
    return UserObject.of(user)


@router.delete("/orgs/{org_id}/users/{user_id}/sessions", responses=errors(404))
async def end_sessions(org_id: str, user_id: str, principal: Admin, db: DB) -> dict:
    """Sign a user out of the web app everywhere (their keys keep working)."""
    ended = await run_in_threadpool(sessions.revoke_user_sessions, db, principal.actor,
                                    _reachable(principal, org_id), user_id)
    return {"ended": ended}


# --- keys -------------------------------------------------------------------------------


@router.get("/orgs/{org_id}/keys", response_model=list[KeyObject], responses=errors(404))
async def list_keys(org_id: str, principal: Admin, db: DB) -> list[KeyObject]:
    keys = await run_in_threadpool(tenancy.list_keys, db, _reachable(principal, org_id))
    return [KeyObject.of(k) for k in keys]


@router.post("/orgs/{org_id}/keys", response_model=CreatedKey, status_code=201,
             responses=errors(404, 409))
async def create_key(org_id: str, body: CreateKey, principal: Admin, db: DB) -> CreatedKey:
    made = await run_in_threadpool(
        tenancy.create_key, db, principal.actor, _reachable(principal, org_id), body.user_id,
        scopes=body.scopes, expires_at=body.expires_at, name=body.name)
    return CreatedKey(**KeyObject.of(made.key).model_dump(), secret=made.secret)


@router.delete("/keys/{key_id}", response_model=KeyObject, responses=errors(404))
async def revoke_key(key_id: str, principal: Admin, db: DB) -> KeyObject:
    """Revoked keys stop working on their next request, in every server worker."""
    scope = None if principal.is_platform_admin else principal.org_id
    key = await run_in_threadpool(tenancy.revoke_key, db, principal.actor, key_id,
                                  org_id=scope)
    return KeyObject.of(key)


# --- plans ------------------------------------------------------------------------------


@router.get("/plans", response_model=list[PlanObject])
async def list_plans(_: Admin, db: DB) -> list[PlanObject]:
    return [PlanObject.of(p) for p in await run_in_threadpool(tenancy.list_plans, db)]


@router.put("/plans/{name}", response_model=PlanObject)
async def set_plan(name: str, body: SetPlan, principal: Admin, db: DB) -> PlanObject:
    _operator_only(principal, "change plans")
    plan = await run_in_threadpool(tenancy.set_plan, db, principal.actor, name,
                                   priority=body.priority, limits=body.limits)
    return PlanObject.of(plan)


# --- usage, audit, retention ------------------------------------------------------------


@router.get("/usage", responses={
    **errors(404),
    200: {"description": "The rows as JSON, or as CSV with format=csv.",
          "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def usage_report(
    principal: Admin, db: DB,
    group_by: usage.GroupBy = "user",
    start: Annotated[str | None, Query(alias="from", description="Date or time (UTC).")] = None,
    end: Annotated[str | None, Query(alias="to", description="Exclusive.")] = None,
    org: str | None = None,
    format: Literal["json", "csv"] = "json",
):
    """Usage summed per group; org admins see their own org, the operator any (``org``)."""
    org_id = _reachable(principal, org) if org else (
        None if principal.is_platform_admin else principal.org_id)
    rows = await run_in_threadpool(usage.report, db, group_by=group_by, org_id=org_id,
                                   start=usage.parse_time(start, "from"),
                                   end=usage.parse_time(end, "to"))
    await run_in_threadpool(audit.record, db, actor=principal.actor, action="usage.read",
                            org_id=org_id, target=org_id or "*",
                            details={"group_by": group_by, "from": start, "to": end})
    if format == "csv":
        return Response(usage.to_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="usage.csv"'})
    return {"object": "list", "group_by": group_by, "data": [vars(r) for r in rows]}


@router.get("/audit", response_model=list[AuditObject])
async def audit_log(principal: Admin, db: DB,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditObject]:
    org_id = None if principal.is_platform_admin else principal.org_id
    entries = await run_in_threadpool(audit.entries, db, org_id=org_id, limit=limit)
    return [AuditObject.of(e) for e in entries]


@router.get("/audit/verify", response_model=AuditVerification)
async def verify_audit(principal: Admin, db: DB) -> AuditVerification:
    _operator_only(principal, "verify the whole audit log")
    result = await run_in_threadpool(audit.verify, db)
    return AuditVerification(ok=result.ok, length=result.length, problems=result.problems)


@router.post("/purge")
async def purge(principal: Admin, db: DB) -> dict:
    """Run the retention purge now (it also runs on its own every hour)."""
    _operator_only(principal, "run the retention purge")
    done = await run_in_threadpool(retention.purge, db, actor=principal.actor)
    return vars(done)
