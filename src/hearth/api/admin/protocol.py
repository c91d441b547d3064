"""Request and response bodies of ``/admin/v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from hearth.governance.plans import PlanLimits
from hearth.governance.roles import SCOPES, Role
from hearth.store.bounds import RetentionDays
from hearth.store.tables import ApiKey, AuditEntry, Org, Plan, User


class OrgObject(BaseModel):
    id: str
    plan: str
    conversation_retention_days: int | None
    memory_retention_days: int | None
    created_at: datetime

    @classmethod
    def of(cls, org: Org) -> OrgObject:
        return cls(id=org.id, plan=org.plan, created_at=org.created_at,
                   conversation_retention_days=org.conversation_retention_days,
                   memory_retention_days=org.memory_retention_days)


class CreateOrg(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    plan: str = "free"


class EditOrg(BaseModel):
    """Only the fields sent change; a retention of null keeps data for ever."""

    plan: str | None = None
    conversation_retention_days: RetentionDays | None = None
    memory_retention_days: RetentionDays | None = None


class UserObject(BaseModel):
    org_id: str
    user_id: str
    role: Role
    plan: str | None
    created_at: datetime
    has_password: bool = Field(description="Whether the user may sign in to the web app with "
                                           "a password (the hash itself is never shown).")

    @classmethod
    def of(cls, user: User) -> UserObject:
        return cls(org_id=user.org_id, user_id=user.user_id, role=user.role, plan=user.plan,
                   created_at=user.created_at, has_password=user.password_hash is not None)


class CreateUser(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    role: Role = Role.MEMBER
    plan: str | None = None


class EditUser(BaseModel):
    role: Role


class SetPassword(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class KeyObject(BaseModel):
    id: str
    prefix: str
    org_id: str
    user_id: str
    name: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyObject:
        return cls(id=key.id, prefix=key.prefix, org_id=key.org_id, user_id=key.user_id,
                   name=key.name, scopes=key.scopes, created_at=key.created_at,
                   expires_at=key.expires_at, revoked_at=key.revoked_at)


class CreatedKey(KeyObject):
    secret: str = Field(description="The key itself: shown this once, never again.")


# Checked by ``hearth.governance.roles.parse_scopes``; named here for the OpenAPI document.
Scope = Annotated[str, WithJsonSchema({"type": "string", "enum": list(SCOPES)})]


class CreateKey(BaseModel):
    user_id: str
    scopes: list[Scope] | None = Field(
        default=None, description="Within what the user's role allows; none: all of that.")
    expires_at: datetime | None = Field(
        default=None, description="Must be in the future; a time without an offset is UTC.")
    name: str | None = Field(default=None, max_length=128)


class PlanObject(BaseModel):
    name: str
    priority: int
    limits: PlanLimits

    @classmethod
    def of(cls, plan: Plan) -> PlanObject:
        return cls(name=plan.name, priority=plan.priority, limits=PlanLimits(**plan.limits))


class SetPlan(BaseModel):
    priority: int = Field(default=0, ge=0, le=100)
    limits: PlanLimits = PlanLimits()


class AuditObject(BaseModel):
    id: int
    at: datetime
    org_id: str | None
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditObject:
        return cls(id=entry.id, at=entry.at, org_id=entry.org_id, actor=entry.actor,
                   action=entry.action, target=entry.target, details=entry.details,
                   hash=entry.hash)


class AuditVerification(BaseModel):
    ok: bool
    length: int
    problems: list[str]
