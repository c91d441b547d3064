"""Web sessions: a browser that signed in with an API key, and acts with that key's rights,
or with a user's password, and acts with that user's role.

The session id is a random secret handed to the browser in an HttpOnly cookie and stored only
as its SHA-256 (a random 256-bit id needs no salt or slow hash: nothing can be guessed from
it). The gate resolves a session exactly as it resolves a key (``resolve_in``), so revoking
the key, or the session, stops it on the next request, in every worker. A session ends when
it has been idle for ``IDLE`` or has lived for ``LIFETIME``, whichever comes first.

A password session has no key: it acts with the scopes of the user's role as it is now, and
ends when an admin changes or clears the password (``end_password_sessions``).

The CSRF token is derived from the session secret (an HMAC), so it needs no storage, changes
with every session, and cannot be computed by a page that cannot read the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hearth.errors import Unauthorized
from hearth.governance import audit, passwords
from hearth.governance.driver_sql import DriverSQL
from hearth.governance.principal import Principal
from hearth.governance.roles import ROLE_SCOPES, Role
from hearth.store.db import Database
from hearth.store.tables import User, WebSession

SESSION_MARK = "hss_"
IDLE = timedelta(hours=8)
LIFETIME = timedelta(days=7)
# last_seen_at is written at most this often, sparing a write on most requests.
TOUCH_EVERY = timedelta(minutes=1)

_SESSION = (
    "SELECT s.key_id, s.org_id, s.user_id, s.last_seen_at, s.expires_at, s.revoked_at, "
    "CAST(k.scopes AS TEXT), k.expires_at, k.revoked_at, u.role, p.name, p.priority, "
    "CAST(p.limits AS TEXT) FROM web_sessions s "
    "LEFT JOIN api_keys k ON k.id = s.key_id "
    "JOIN users u ON u.org_id = s.org_id AND u.user_id = s.user_id "
    "JOIN orgs o ON o.id = s.org_id "
    "JOIN plans p ON p.name = COALESCE(u.plan, o.plan) WHERE s.id_hash = :id_hash")
_TOUCH = "UPDATE web_sessions SET last_seen_at = :now WHERE id_hash = :id_hash"


def is_session(secret: str) -> bool:
    return secret.startswith(SESSION_MARK)


def hash_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(secret: str) -> str:
    """The token a page of this session sends back with every change it asks for."""
    return hmac.new(secret.encode(), b"hearth-csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(csrf_token(secret), token)


def resolve_in(sql: DriverSQL, secret: str) -> Principal:
    """The principal a live session acts as, inside the gate's transaction."""
    id_hash = hash_id(secret)
    row = sql.one(_SESSION, {"id_hash": id_hash})
    if row is None:
        raise Unauthorized("You are signed out; sign in again.", code="session_expired")
    (key_id, org_id, user_id, last_seen, expires_at, revoked_at, scopes, key_expires,
     key_revoked, role, plan, priority, limits) = row
    now = datetime.now(UTC)
    last_seen = sql.read_when(last_seen)
    key_expires = sql.read_when(key_expires)
    if (revoked_at is not None or key_revoked is not None or sql.read_when(expires_at) <= now
            or last_seen + IDLE <= now or (key_expires is not None and key_expires <= now)):
        raise Unauthorized("Your session has ended; sign in again.", code="session_expired")
    if now - last_seen >= TOUCH_EVERY:
        sql.execute(_TOUCH, {"now": sql.when(now), "id_hash": id_hash})
    role_ = Role(role)
    granted = ROLE_SCOPES[role_] if key_id is None else frozenset(json.loads(scopes))
    return Principal(org_id=org_id, user_id=user_id, role=role_,
                     scopes=granted & ROLE_SCOPES[role_], plan=plan,
                     priority=priority, limits=sql.read_json(limits), key_id=key_id)


def _open(session: Session, org_id: str, user_id: str, key_id: str | None) -> str:
    secret = f"{SESSION_MARK}{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    session.add(WebSession(id_hash=hash_id(secret), key_id=key_id, org_id=org_id,
                           user_id=user_id, created_at=now, last_seen_at=now,
                           expires_at=now + LIFETIME))
    return secret


def start(db: Database, principal: Principal) -> str:
    """Open a session for a principal that signed in with its key; returns the secret,
    which only the browser's cookie keeps."""
    assert principal.key_id is not None, "an open install needs no session"
    with db.locked_session() as session:
        secret = _open(session, principal.org_id, principal.user_id, principal.key_id)
        audit.append(session, actor=principal.actor, action="session.start",
                     org_id=principal.org_id, target=f"{principal.org_id}/{principal.user_id}")
    return secret


def start_with_password(db: Database, org_id: str, user_id: str, password: str) -> str:
    """Open a session for a user whose password this is; returns the secret.

    A wrong password, an unknown user and a user without a password are refused alike (same
    message, same hashing work), and each refusal is on the audit log. The slow hash runs
    outside the write lock, so a sign-in never holds up other requests.
    """
    with db.session() as session:
        user = session.get(User, (org_id, user_id))
        stored = user.password_hash if user is not None else None
    ok = passwords.password_matches(password, stored)
    target = f"{org_id}/{user_id}"[:255]
    with db.locked_session() as session:
        if not ok:
            audit.append(session, actor=target[:160], action="session.refused",
                         org_id=org_id[:64], target=target, details={"by": "password"})
        else:
            secret = _open(session, org_id, user_id, None)
            audit.append(session, actor=target, action="session.start", org_id=org_id,
                         target=target, details={"by": "password"})
    if not ok:
        raise Unauthorized("Unknown user or wrong password.", code="invalid_credentials")
    return secret


def end(db: Database, secret: str, principal: Principal) -> None:
    """Sign out: the session stops working at once."""
    with db.locked_session() as session:
        session.execute(update(WebSession).where(WebSession.id_hash == hash_id(secret))
                        .values(revoked_at=datetime.now(UTC)))
        audit.append(session, actor=principal.actor, action="session.end",
                     org_id=principal.org_id, target=f"{principal.org_id}/{principal.user_id}")


def revoke_user_sessions(db: Database, actor: str, org_id: str, user_id: str) -> int:
    """An admin signs a user out everywhere; returns how many live sessions ended."""
    now = datetime.now(UTC)
    with db.locked_session() as session:
        ids = list(session.scalars(select(WebSession.id_hash).where(
            WebSession.org_id == org_id, WebSession.user_id == user_id,
            WebSession.revoked_at.is_(None), WebSession.expires_at > now)))
        session.execute(update(WebSession).where(WebSession.id_hash.in_(ids))
                        .values(revoked_at=now))
        audit.append(session, actor=actor, action="session.revoke", org_id=org_id,
                     target=f"{org_id}/{user_id}", details={"sessions": len(ids)})
        return len(ids)


def end_password_sessions(session: Session, org_id: str, user_id: str) -> None:
    """End a user's password sessions, in the caller's transaction: their password changed,
    and whoever knew the old one must sign in again."""
    session.execute(update(WebSession).where(
        WebSession.org_id == org_id, WebSession.user_id == user_id,
        WebSession.key_id.is_(None), WebSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC)))
