"""Retention on a real SQLite file: what an org keeps for a day is gone from everywhere after it.

Ages are set with SQL (``updated_at`` of a conversation, ``created_at`` of a memory), as if
the rows had been written days ago; embeddings are fixed vectors, since only where a vector
is stored matters here, not what it means.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text, update

from hearth.errors import InvalidRequest, NotFound
from hearth.governance import audit, retention, tenancy
from hearth.store import conversations
from hearth.store import memories as memory_store
from hearth.store import responses
from hearth.store.db import Database
from hearth.store.memories import Owner, SourceRef
from hearth.store.tables import Conversation, Memory, Org, StoredResponse, UsageCounter

OPERATOR = "operator test (cli)"
DIMENSIONS = 384
TWO_DAYS_AGO = timedelta(days=2)


def embedding(seed: int) -> np.ndarray:
    """A fixed unit vector per seed (no model: only where vectors are stored matters)."""
    vector = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def orgs(db: Database) -> Database:
    """'brief' keeps conversations and memories one day; 'keeper' keeps them for ever."""
    tenancy.create_org(db, OPERATOR, "brief")
    tenancy.update_org(db, OPERATOR, "brief", {"conversation_retention_days": 1,
                                               "memory_retention_days": 1})
    tenancy.create_org(db, OPERATOR, "keeper")
    return db


def conversation(db: Database, org: str, *, age: timedelta = timedelta(0)) -> str:
    made = conversations.start_conversation(db, model="fake", org_id=org, user_id="u")
    conversations.append_messages(db, made.id, [{"role": "user", "content": "hello"},
                                                {"role": "assistant", "content": "hi"}],
                                  org_id=org, user_id="u")
    with db.session() as session:
        session.execute(update(Conversation).where(Conversation.id == made.id)
                        .values(updated_at=datetime.now(UTC) - age))
    return made.id


def memory(db: Database, owner: Owner, words: str, seed: int, *,
           age: timedelta = timedelta(0)) -> int:
    made = memory_store.add_memory(
        db, owner, kind="fact", text=words, embedding=embedding(seed),
        observed_at=datetime(2024, 1, 1, tzinfo=UTC),
        sources=[SourceRef(ref="test", excerpt=words)])
    with db.session() as session:
        session.execute(update(Memory).where(Memory.id == made.id)
                        .values(created_at=datetime.now(UTC) - age))
    return made.id


def rows_of(db: Database, memory_id: int) -> dict[str, int]:
    """How many rows a memory has in its table, its provenance and both indexes (a full-text
    rowid holds the memory id in its low 32 bits)."""
    counts = {}
    with db.session() as session:
        for table, column in (("memories", "id"), ("memory_sources", "memory_id"),
                              ("memories_fts", "rowid & 4294967295"),
                              ("memories_vec", "memory_id")):
            counts[table] = session.scalar(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": memory_id})
    return counts


def messages_of(db: Database, conversation_id: str) -> int:
    with db.session() as session:
        return session.scalar(text("SELECT count(*) FROM messages WHERE conversation_id = :c"),
                              {"c": conversation_id})


def test_expired_conversations_go_with_their_messages_and_fresh_ones_stay(
        orgs: Database) -> None:
    old = conversation(orgs, "brief", age=TWO_DAYS_AGO)
    fresh = conversation(orgs, "brief", age=timedelta(hours=12))
    kept = conversation(orgs, "keeper", age=timedelta(days=400))

    done = retention.purge(orgs)

    assert done.conversations == 1
    remaining = {c.id for org in ("brief", "keeper")
                 for c in conversations.list_conversations(orgs, org_id=org, user_id="u")}
    assert remaining == {fresh, kept}
    assert messages_of(orgs, old) == 0
    assert messages_of(orgs, fresh) == messages_of(orgs, kept) == 2


def stored_response(db: Database, org: str, *, age: timedelta) -> str:
    response_id = f"resp_{org}_{age.days}"
    responses.save_response(db, Owner(org, "u"), {"id": response_id},
                            [{"type": "message", "role": "user", "content": "hello"}])
    with db.session() as session:
        session.execute(update(StoredResponse).where(StoredResponse.id == response_id)
                        .values(created_at=datetime.now(UTC) - age))
    return response_id


def test_stored_responses_expire_with_the_conversations(orgs: Database) -> None:
    old = stored_response(orgs, "brief", age=TWO_DAYS_AGO)
    fresh = stored_response(orgs, "brief", age=timedelta(0))
    kept = stored_response(orgs, "keeper", age=timedelta(days=400))

    done = retention.purge(orgs)

    assert done.responses == 1
    with pytest.raises(NotFound):
        responses.get_response(orgs, Owner("brief", "u"), old)
    assert responses.get_response(orgs, Owner("brief", "u"), fresh).id == fresh
    assert responses.get_response(orgs, Owner("keeper", "u"), kept).id == kept


def test_a_purge_takes_only_the_expired_owners_conversation_of_a_shared_id(
        orgs: Database) -> None:
    for org, user in (("brief", "u"), ("brief", "v"), ("keeper", "u")):
        conversations.ensure_conversation(orgs, "chat", model="fake", org_id=org, user_id=user)
        conversations.append_messages(orgs, "chat", [{"role": "user", "content": user}],
                                      org_id=org, user_id=user)
    with orgs.session() as session:
        session.execute(update(Conversation).where(Conversation.user_id == "u")
                        .values(updated_at=datetime.now(UTC) - TWO_DAYS_AGO))

    assert retention.purge(orgs).conversations == 1

    def kept(org: str, user: str) -> list[str | None]:
        try:
            found = conversations.get_conversation(orgs, "chat", org_id=org, user_id=user)
        except NotFound:
            return []
        return [m.content for m in found.messages]

    assert kept("brief", "u") == []
    assert kept("brief", "v") == ["v"]
    assert kept("keeper", "u") == ["u"]


def test_expired_memories_leave_no_row_source_or_index_entry(orgs: Database) -> None:
    owner = Owner("brief", "u")
    old = memory(orgs, owner, "My old locker code is marzipan.", seed=1, age=TWO_DAYS_AGO)
    fresh = memory(orgs, owner, "My bike is called marmalade.", seed=2,
                   age=timedelta(hours=12))
    assert rows_of(orgs, old) == {"memories": 1, "memory_sources": 1, "memories_fts": 1,
                                  "memories_vec": 1}

    done = retention.purge(orgs)

    assert done.memories == 1
    assert rows_of(orgs, old) == {"memories": 0, "memory_sources": 0, "memories_fts": 0,
                                  "memories_vec": 0}
    assert rows_of(orgs, fresh) == {"memories": 1, "memory_sources": 1, "memories_fts": 1,
                                    "memories_vec": 1}
    assert memory_store.fulltext_search(orgs, owner, "marzipan") == []
    assert [i for i, _ in memory_store.fulltext_search(orgs, owner, "marmalade")] == [fresh]
    assert [i for i, _ in memory_store.vector_search(orgs, owner, embedding(1))] == [fresh]
    assert memory_store.vector_search(orgs, owner, embedding(2))[0][0] == fresh


def test_an_org_without_retention_keeps_everything(orgs: Database) -> None:
    owner = Owner("keeper", "u")
    old_memory = memory(orgs, owner, "I was born in Lisbon.", seed=3, age=timedelta(days=999))
    old_conversation = conversation(orgs, "keeper", age=timedelta(days=999))

    done = retention.purge(orgs)

    assert (done.conversations, done.memories) == (0, 0)
    assert rows_of(orgs, old_memory)["memories_vec"] == 1
    assert messages_of(orgs, old_conversation) == 2
    assert not [e for e in audit.entries(orgs) if e.action == "retention.purge"]


def test_a_purge_that_deletes_is_on_the_audit_log(orgs: Database) -> None:
    conversation(orgs, "brief", age=TWO_DAYS_AGO)
    memory(orgs, Owner("brief", "u"), "An old fact.", seed=4, age=TWO_DAYS_AGO)
    memory(orgs, Owner("brief", "v"), "Another old fact.", seed=5, age=TWO_DAYS_AGO)

    retention.purge(orgs, actor="operator test (cli)")

    purges = [e for e in audit.entries(orgs) if e.action == "retention.purge"]
    assert [(e.org_id, e.target, e.actor, e.details) for e in purges] == [
        ("brief", "brief", "operator test (cli)",
         {"conversations": 1, "responses": 0, "memories": 2, "files": 0})]
    assert audit.verify(orgs).ok


def test_spent_quota_counters_are_dropped_and_current_ones_kept(orgs: Database) -> None:
    now = datetime.now(UTC)
    today = int(now.timestamp()) // 86400 * 86400
    old_window = int((now - timedelta(days=3)).timestamp()) // 60 * 60
    with orgs.session() as session:
        session.add_all([
            UsageCounter(subject="key:k", metric="requests", window_start=old_window, count=9),
            UsageCounter(subject="key:k", metric="tokens", window_start=today, count=500),
        ])

    done = retention.purge(orgs, now=now)

    assert done.counters == 1
    with orgs.session() as session:
        assert session.execute(select(UsageCounter.metric, UsageCounter.window_start)).all() == [
            ("tokens", today)]


def test_one_orgs_failing_purge_is_audited_and_every_other_org_is_still_purged(
        orgs: Database) -> None:
    # A retention too long for any date, as stored before retention was bounded: "aaa" is
    # purged first (orgs are read in id order), so a purge that stopped there purged nobody.
    tenancy.create_org(orgs, OPERATOR, "aaa")
    with orgs.session() as session:
        session.execute(update(Org).where(Org.id == "aaa")
                        .values(memory_retention_days=1_000_000_000))
    old = conversation(orgs, "brief", age=TWO_DAYS_AGO)

    done = retention.purge(orgs)

    assert done.failed == ["aaa"]
    assert done.conversations == 1 and messages_of(orgs, old) == 0
    failures = [e for e in audit.entries(orgs) if e.action == "retention.failed"]
    assert [(e.org_id, e.target) for e in failures] == [("aaa", "aaa")]
    assert "OverflowError" in failures[0].details["error"]


@pytest.mark.parametrize("days", [0, 36_501, 1_000_000, 10**19])
def test_retention_is_bounded_to_one_day_through_a_hundred_years(orgs: Database,
                                                                 days: int) -> None:
    with pytest.raises(InvalidRequest, match="from 1 to 36500 days"):
        tenancy.update_org(orgs, OPERATOR, "brief", {"memory_retention_days": days})
    made = tenancy.update_org(orgs, OPERATOR, "brief", {"conversation_retention_days": 36_500})
    assert made.conversation_retention_days == 36_500
