"""The audit log's hash chain: intact after honest appends, broken by any edit or removal.

Entries are written the way the product writes them (tenancy operations, ``audit.record``);
the tampering is SQL on the table, as someone with the database file could do.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from hearth.governance import audit, tenancy
from hearth.store.db import Database

OPERATOR = "operator test (cli)"


@pytest.fixture
def logged(db: Database) -> Database:
    """A database with five audit entries, ids 1 to 5, oldest first."""
    tenancy.create_org(db, OPERATOR, "acme")                     # 1 org.create
    tenancy.create_user(db, OPERATOR, "acme", "alice")           # 2 user.create
    made = tenancy.create_key(db, OPERATOR, "acme", "alice")     # 3 key.create
    tenancy.revoke_key(db, OPERATOR, made.key.id)                # 4 key.revoke
    audit.record(db, actor=OPERATOR, action="memory.export", org_id="acme",  # 5
                 target="acme/alice", details={"memories": 3})
    return db


def sql(db: Database, statement: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(statement))


def test_honest_appends_verify(logged: Database) -> None:
    result = audit.verify(logged)

    assert result.ok, result.problems
    assert result.length == 5
    assert [e.action for e in audit.entries(logged)] == [
        "memory.export", "key.revoke", "key.create", "user.create", "org.create"]
    assert [e.action for e in audit.entries(logged, org_id="acme", limit=2)] == [
        "memory.export", "key.revoke"]


def test_an_empty_log_verifies(db: Database) -> None:
    result = audit.verify(db)

    assert result.ok and result.length == 0


@pytest.mark.parametrize("edit", [
    "UPDATE audit_log SET details = '{\"plan\": \"enterprise\"}' WHERE id = 2",
    "UPDATE audit_log SET actor = 'someone else' WHERE id = 2",
    "UPDATE audit_log SET action = 'org.create' WHERE id = 2",
    "UPDATE audit_log SET at = '2020-01-01 00:00:00.000000' WHERE id = 2",
])
def test_an_edited_entry_is_named(logged: Database, edit: str) -> None:
    sql(logged, edit)

    result = audit.verify(logged)

    assert not result.ok
    assert result.problems == ["entry 2: contents changed since it was written"]


def test_an_edit_that_recomputes_the_entrys_own_hash_breaks_the_next_link(
        logged: Database) -> None:
    entry = audit.entries(logged, limit=5)[-2]  # id 2
    forged = audit.entry_hash(entry.prev_hash, 2, entry.at, entry.org_id, "someone else",
                              entry.action, entry.target, entry.details)
    with logged.session() as session:
        session.execute(text("UPDATE audit_log SET actor = 'someone else', hash = :h "
                             "WHERE id = 2"), {"h": forged})

    result = audit.verify(logged)

    assert not result.ok
    assert any(p.startswith("entry 3:") for p in result.problems), result.problems
    assert not any(p.startswith("entry 2:") for p in result.problems)


def test_a_removed_middle_entry_is_named_by_the_one_after_it(logged: Database) -> None:
    sql(logged, "DELETE FROM audit_log WHERE id = 3")

    result = audit.verify(logged)

    assert not result.ok
    assert result.length == 4
    assert result.problems[0].startswith("entry 4: does not follow the entry before it")
    assert not any(p.startswith(("entry 1:", "entry 2:")) for p in result.problems)


def test_a_removed_newest_entry_is_caught_by_the_head(logged: Database) -> None:
    sql(logged, "DELETE FROM audit_log WHERE id = 5")

    result = audit.verify(logged)

    assert not result.ok
    assert len(result.problems) == 1
    assert "4 entries" in result.problems[0] and "5 were written" in result.problems[0]
    assert "removed from the end" in result.problems[0]


def test_entries_appended_from_two_threads_at_once_form_one_chain(db: Database) -> None:
    per_thread = 20
    start = threading.Barrier(2)

    def append_many(name: str) -> None:
        start.wait()
        for n in range(per_thread):
            audit.record(db, actor=name, action="test.append", target=str(n))
            time.sleep(0.005)  # else one thread re-takes the lock before the other wakes

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(append_many, name) for name in ("a", "b")]:
            done.result()  # re-raises a thread's error here

    result = audit.verify(db)
    assert result.ok, result.problems
    assert result.length == 2 * per_thread
    entries = audit.entries(db, limit=100)
    assert len({e.prev_hash for e in entries}) == len(entries)  # no fork: one child each
    assert sorted(e.actor for e in entries) == ["a"] * per_thread + ["b"] * per_thread
    actors = "".join(e.actor for e in entries)
    assert actors.count("ab") + actors.count("ba") >= 2, actors  # the appends did interleave
