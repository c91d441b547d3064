"""User passwords: a salted scrypt hash, and sign-in with one that acts with the user's role."""

from __future__ import annotations

import pytest

from hearth.errors import Forbidden, InvalidRequest, Unauthorized
from hearth.governance import audit, gate, passwords, sessions, tenancy
from hearth.governance.roles import ROLE_SCOPES, Role
from hearth.store.db import Database
from hearth.store.tables import User

PASSWORD = "correct horse battery"


@pytest.fixture
def ada(db: Database) -> None:
    tenancy.create_org(db, "operator", "acme")
    tenancy.create_user(db, "operator", "acme", "ada")
    tenancy.create_user(db, "operator", "acme", "bob")
    tenancy.create_key(db, "operator", "acme", "bob")  # keys exist: the install is closed
    tenancy.set_password(db, "operator", "acme", "ada", PASSWORD)


def test_a_hash_is_salted_and_checks_only_its_password() -> None:
    one, two = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert one != two and PASSWORD not in one and one.startswith("scrypt$")
    assert passwords.password_matches(PASSWORD, one)
    assert not passwords.password_matches(PASSWORD + " ", one)
    assert not passwords.password_matches(PASSWORD, None)


def test_a_short_password_is_refused(db: Database, ada: None) -> None:
    with pytest.raises(InvalidRequest):
        tenancy.set_password(db, "operator", "acme", "ada", "short")


def test_a_password_session_acts_with_the_users_role(db: Database, ada: None) -> None:
    secret = sessions.start_with_password(db, "acme", "ada", PASSWORD)
    start = audit.entries(db, org_id="acme")[0]
    assert (start.action, start.details) == ("session.start", {"by": "password"})
    principal = gate.admit(db, secret, scope="chat").principal
    assert (principal.org_id, principal.user_id, principal.key_id) == ("acme", "ada", None)
    assert principal.scopes == ROLE_SCOPES[Role.MEMBER]
    with pytest.raises(Forbidden):  # a member, signed in without a key, still acts for no one else
        principal.owner_for("bob")
    tenancy.set_role(db, "operator", "acme", "ada", "admin")
    assert gate.admit(db, secret, scope=None).principal.scopes == ROLE_SCOPES[Role.ADMIN]


@pytest.mark.parametrize(("user", "password"), [("ada", "wrong password!"), ("eve", PASSWORD),
                                                ("bob", PASSWORD)])
def test_wrong_password_unknown_user_and_no_password_are_refused_alike(
        db: Database, ada: None, user: str, password: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        sessions.start_with_password(db, "acme", user, password)
    assert refused.value.message == "Unknown user or wrong password."
    entry = audit.entries(db, org_id="acme")[0]
    assert (entry.action, entry.target) == ("session.refused", f"acme/{user}")


def test_changing_or_clearing_the_password_ends_its_sessions(db: Database, ada: None) -> None:
    first = sessions.start_with_password(db, "acme", "ada", PASSWORD)
    tenancy.set_password(db, "operator", "acme", "ada", "another good one")
    with pytest.raises(Unauthorized):
        gate.admit(db, first, scope=None)
    with pytest.raises(Unauthorized):
        sessions.start_with_password(db, "acme", "ada", PASSWORD)
    second = sessions.start_with_password(db, "acme", "ada", "another good one")
    tenancy.set_password(db, "operator", "acme", "ada", None)
    with pytest.raises(Unauthorized):
        gate.admit(db, second, scope=None)
    with db.session() as session:
        assert session.get(User, ("acme", "ada")).password_hash is None  # type: ignore[union-attr]
    assert audit.entries(db, org_id="acme")[0].details == {"set": False}


def test_only_an_owner_sets_an_owners_password(db: Database, ada: None) -> None:
    tenancy.create_user(db, "operator", "acme", "olga", role="owner")
    with pytest.raises(Forbidden):
        tenancy.set_password(db, "acme/ada", "acme", "olga", PASSWORD, by_owner=False)
    tenancy.set_password(db, "acme/olga", "acme", "olga", PASSWORD, by_owner=True)
