"""Web sessions: resolved like keys, ended by sign-out, idleness, age, or the key's revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from hearth.errors import Unauthorized
from hearth.governance import audit, gate, sessions, tenancy
from hearth.store.db import Database
from hearth.store.tables import WebSession


@pytest.fixture
def signed_in(db: Database) -> tuple[str, tenancy.NewKey]:
    tenancy.create_org(db, "operator", "acme")
    tenancy.create_user(db, "operator", "acme", "ada")
    made = tenancy.create_key(db, "operator", "acme", "ada")
    principal = gate.admit(db, made.secret, scope=None).principal
    return sessions.start(db, principal), made


def test_a_session_acts_as_its_key_and_is_stored_only_hashed(
        db: Database, signed_in: tuple[str, tenancy.NewKey]) -> None:
    secret, made = signed_in
    principal = gate.admit(db, secret, scope="chat").principal
    assert (principal.org_id, principal.user_id, principal.key_id) == ("acme", "ada", made.key.id)
    with db.session() as session:
        stored = session.get(WebSession, sessions.hash_id(secret))
        assert stored is not None and secret not in (stored.id_hash, stored.key_id)
    assert [e.action for e in audit.entries(db, org_id="acme")][0] == "session.start"


def test_signing_out_ends_the_session_and_is_audited(
        db: Database, signed_in: tuple[str, tenancy.NewKey]) -> None:
    secret, _ = signed_in
    sessions.end(db, secret, gate.admit(db, secret, scope=None).principal)
    with pytest.raises(Unauthorized):
        gate.admit(db, secret, scope=None)
    assert audit.entries(db, org_id="acme")[0].action == "session.end"


def test_an_idle_session_expires(db: Database, signed_in: tuple[str, tenancy.NewKey]) -> None:
    secret, _ = signed_in
    with db.session() as session:
        session.execute(update(WebSession).values(
            last_seen_at=datetime.now(UTC) - sessions.IDLE - timedelta(seconds=1)))
    with pytest.raises(Unauthorized):
        gate.admit(db, secret, scope=None)


def test_a_session_expires_at_its_lifetime_however_busy(
        db: Database, signed_in: tuple[str, tenancy.NewKey]) -> None:
    secret, _ = signed_in
    with db.session() as session:
        session.execute(update(WebSession).values(expires_at=datetime.now(UTC)))
    with pytest.raises(Unauthorized):
        gate.admit(db, secret, scope=None)


def test_revoking_the_key_ends_its_sessions(db: Database,
                                            signed_in: tuple[str, tenancy.NewKey]) -> None:
    secret, made = signed_in
    tenancy.revoke_key(db, "operator", made.key.id)
    with pytest.raises(Unauthorized):
        gate.admit(db, secret, scope=None)


def test_an_admin_signs_a_user_out_everywhere(db: Database,
                                             signed_in: tuple[str, tenancy.NewKey]) -> None:
    secret, _ = signed_in
    assert sessions.revoke_user_sessions(db, "operator", "acme", "ada") == 1
    with pytest.raises(Unauthorized):
        gate.admit(db, secret, scope=None)


def test_the_csrf_token_belongs_to_one_session() -> None:
    one, other = "hss_one", "hss_other"
    assert sessions.csrf_matches(one, sessions.csrf_token(one))
    assert not sessions.csrf_matches(one, sessions.csrf_token(other))
    assert not sessions.csrf_matches(one, None)
