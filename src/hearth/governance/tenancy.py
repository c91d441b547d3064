"""Organisations, users, API keys and plans: the work behind ``hearth admin`` and /admin/v1.

Every change is written to the audit log in the same transaction as the change itself.
``actor`` names who did it (a principal, or the operator at the command line).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth.errors import Conflict, Forbidden, InvalidRequest, NotFound
from hearth.governance import audit, passwords, sessions
from hearth.governance.keys import hash_secret, new_salt, new_secret, prefix_of
from hearth.governance.plans import PlanLimits
from hearth.governance.principal import LOCAL_ORG
from hearth.governance.roles import Role, parse_role, parse_scopes
from hearth.store.bounds import MAX_DAYS
from hearth.store.db import Database
from hearth.store.tables import ApiKey, Org, Plan, User

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
RETENTION_FIELDS = ("conversation_retention_days", "memory_retention_days")


def _check_name(value: str, what: str) -> str:
    if not NAME.match(value):
        raise InvalidRequest(f"Invalid {what} {value!r}: use 1-64 letters, digits, '.', '_', "
                             "'@' or '-', starting with a letter or digit.", param=what)
    return value


def _org(session: Session, org_id: str) -> Org:
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound(f"No organisation {org_id!r}.", code="org_not_found")
    return org


def _plan(session: Session, name: str) -> Plan:
    plan = session.get(Plan, name)
    if plan is None:
        names = ", ".join(session.scalars(select(Plan.name).order_by(Plan.priority)))
        raise NotFound(f"No plan {name!r}; plans: {names}.", code="plan_not_found")
    return plan


def _user(session: Session, org_id: str, user_id: str) -> User:
    user = session.get(User, (org_id, user_id))
    if user is None:
        raise NotFound(f"No user {user_id!r} in organisation {org_id!r}.", code="user_not_found")
    return user


# --- organisations ----------------------------------------------------------------------


def create_org(db: Database, actor: str, org_id: str, *, plan: str = "free") -> Org:
    _check_name(org_id, "org")
    with db.locked_session() as session:
        _plan(session, plan)
        if session.get(Org, org_id) is not None:
            raise Conflict(f"Organisation {org_id!r} exists already.")
        org = Org(id=org_id, plan=plan)
        session.add(org)
        audit.append(session, actor=actor, action="org.create", org_id=org_id, target=org_id,
                     details={"plan": plan})
        return org


def list_orgs(db: Database) -> list[Org]:
    with db.session() as session:
        return list(session.scalars(select(Org).order_by(Org.id)))


def get_org(db: Database, org_id: str) -> Org:
    with db.session() as session:
        return _org(session, org_id)


def update_org(db: Database, actor: str, org_id: str, changes: dict[str, Any]) -> Org:
    """Change an org's plan or retention (days; None keeps data for ever)."""
    unknown = set(changes) - {"plan", *RETENTION_FIELDS}
    if unknown:
        raise InvalidRequest(f"Cannot change {', '.join(sorted(unknown))} of an org.")
    for field in RETENTION_FIELDS:
        days = changes.get(field)
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise InvalidRequest(f"{field} must be from 1 to {MAX_DAYS} days (or null: keep "
                                 "for ever).", param=field)
    with db.locked_session() as session:
        org = _org(session, org_id)
        if "plan" in changes:
            _plan(session, changes["plan"])
        before = {name: getattr(org, name) for name in changes}
        for name, value in changes.items():
            setattr(org, name, value)
        audit.append(session, actor=actor, action="org.settings", org_id=org_id, target=org_id,
                     details={"before": before, "after": changes})
        return org


# --- users ------------------------------------------------------------------------------


def create_user(db: Database, actor: str, org_id: str, user_id: str, *,
                role: str = Role.MEMBER, plan: str | None = None) -> User:
    _check_name(user_id, "user")
    role = parse_role(role)
    with db.locked_session() as session:
        _org(session, org_id)
        if plan is not None:
            _plan(session, plan)
        if session.get(User, (org_id, user_id)) is not None:
            raise Conflict(f"User {user_id!r} exists already in {org_id!r}.")
        user = User(org_id=org_id, user_id=user_id, role=role.value, plan=plan)
        session.add(user)
        audit.append(session, actor=actor, action="user.create", org_id=org_id,
                     target=f"{org_id}/{user_id}", details={"role": role.value, "plan": plan})
        return user


def list_users(db: Database, org_id: str) -> list[User]:
    with db.session() as session:
        _org(session, org_id)
        return list(session.scalars(select(User).where(User.org_id == org_id)
                                    .order_by(User.user_id)))


def set_role(db: Database, actor: str, org_id: str, user_id: str, role: str, *,
             by_owner: bool = True) -> User:
    """Change a user's role; only an org owner (or the operator) may grant or take 'owner'."""
    role = parse_role(role)
    with db.locked_session() as session:
        user = _user(session, org_id, user_id)
        if not by_owner and Role.OWNER in (role, Role(user.role)):
            raise Forbidden("Only an owner may make or unmake an owner.")
        before = user.role
        user.role = role.value
        audit.append(session, actor=actor, action="user.role", org_id=org_id,
                     target=f"{org_id}/{user_id}", details={"before": before, "after": role.value})
        return user



def set_password(db: Database, actor: str, org_id: str, user_id: str, password: str | None, *,
                 by_owner: bool = True) -> User:
    """Set (or, with None, clear) the password a user signs in to the web app with.

    Only an owner (or the operator) may set an owner's: otherwise an admin could sign in as
    one. The user's password sessions end, so whoever knew the old password is signed out.
    """
    if password is not None:
        try:
            passwords.check_strength(password)
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="password") from None
    hashed = passwords.hash_password(password) if password is not None else None
    with db.locked_session() as session:
        user = _user(session, org_id, user_id)
        if not by_owner and user.role == Role.OWNER:
            raise Forbidden("Only an owner may set an owner's password.")
        user.password_hash = hashed
        sessions.end_password_sessions(session, org_id, user_id)
        audit.append(session, actor=actor, action="user.password", org_id=org_id,
                     target=f"{org_id}/{user_id}", details={"set": password is not None})
        return user


# --- keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once, never stored


def create_key(db: Database, actor: str, org_id: str, user_id: str, *,
               scopes: list[str] | None = None, expires_at: datetime | None = None,
               name: str | None = None) -> NewKey:
    scopes = parse_scopes(scopes)
    if expires_at is not None and expires_at.tzinfo is None:
        # A time without an offset (as JSON often sends one) is UTC, as usage bounds are.
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidRequest("expires_at is in the past.", param="expires_at")
    secret = new_secret()
    salt = new_salt()
    with db.locked_session() as session:
        _user(session, org_id, user_id)
        key = ApiKey(id=f"key_{secrets.token_hex(8)}", prefix=prefix_of(secret), salt=salt,
                     hash=hash_secret(secret, salt), org_id=org_id, user_id=user_id, name=name,
                     scopes=scopes, expires_at=expires_at)
        session.add(key)
        audit.append(session, actor=actor, action="key.create", org_id=org_id, target=key.id,
                     details={"user": user_id, "scopes": scopes, "prefix": key.prefix,
                              "expires_at": expires_at.isoformat() if expires_at else None})
        try:
            session.flush()
        except IntegrityError:  # a prefix collision: 1 in 4 billion; ask again
            raise Conflict("Key prefix collision; create the key again.") from None
        return NewKey(key, secret)


def list_keys(db: Database, org_id: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.org_id, ApiKey.created_at)
    if org_id is not None:
        query = query.where(ApiKey.org_id == org_id)
    with db.session() as session:
        return list(session.scalars(query))


def revoke_key(db: Database, actor: str, key_id: str, *, org_id: str | None = None) -> ApiKey:
    """Revoke a key (``org_id`` limits which org's keys the actor may touch)."""
    with db.locked_session() as session:
        key = session.get(ApiKey, key_id)
        if key is None or (org_id is not None and key.org_id != org_id):
            raise NotFound(f"No API key {key_id!r}.", code="key_not_found")
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
            audit.append(session, actor=actor, action="key.revoke", org_id=key.org_id,
                         target=key.id, details={"user": key.user_id, "prefix": key.prefix})
        return key


def any_keys(db: Database) -> bool:
    with db.session() as session:
        return session.scalar(select(ApiKey.id).limit(1)) is not None


# --- plans ------------------------------------------------------------------------------


def list_plans(db: Database) -> list[Plan]:
    with db.session() as session:
        return list(session.scalars(select(Plan).order_by(Plan.priority, Plan.name)))


def set_plan(db: Database, actor: str, name: str, *, priority: int,
             limits: PlanLimits) -> Plan:
    """Create or replace a plan; it applies to every org and user on it from the next request."""
    _check_name(name, "plan")
    with db.locked_session() as session:
        plan = session.get(Plan, name)
        before = {"priority": plan.priority, "limits": plan.limits} if plan else None
        if plan is None:
            plan = Plan(name=name)
            session.add(plan)
        plan.priority = priority
        plan.limits = limits.model_dump()
        plan.updated_at = datetime.now(UTC)
        audit.append(session, actor=actor, action="plan.set", org_id=LOCAL_ORG, target=name,
                     details={"before": before, "after": {"priority": priority,
                                                          "limits": plan.limits}})
        return plan
