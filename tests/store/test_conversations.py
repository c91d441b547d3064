"""The conversation store on a real SQLite file and a real PostgreSQL database: schema,
order, titles, tenancy, durability."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, inspect, select, text

from hearth.config import Settings
from hearth.errors import NotFound
from hearth.store import conversations as store
from hearth.store.db import Database, alembic_config
from hearth.store.tables import Base, Conversation, Message


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A folder that does not exist yet: opening the database creates it."""
    return tmp_path / "home" / "hearth.db"


def contents(db: Database, conversation_id: str, **owner: str) -> list[str | None]:
    return [m.content for m in store.get_conversation(db, conversation_id, **owner).messages]


# --- schema -----------------------------------------------------------------------------


def test_migrations_create_the_schema(db: Database) -> None:
    inspector = inspect(db.engine)
    assert {"conversations", "messages", "alembic_version"} <= set(inspector.get_table_names())
    assert "ix_conversations_org_id_user_id_updated_at" in {
        index["name"] for index in inspector.get_indexes("conversations")
    }
    with db.engine.connect() as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrating_twice_changes_nothing(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    db.migrate()
    assert store.get_conversation(db, conversation.id).id == conversation.id


def _not_a_search_index(name: str | None, type_: str, _parent: object) -> bool:
    """The search indexes live outside the models: FTS5 and sqlite-vec tables (and their
    shadow tables) and the full-text index's owner numbers on SQLite; the tsvector column,
    its index and the vector table on PostgreSQL."""
    if type_ == "column":
        return name != "text_search"
    return not (name and name.startswith(("memories_fts", "memories_vec", "memory_owners")))


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection,
                                             opts={"include_name": _not_a_search_index})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_downgrade_to_nothing_and_back(db: Database) -> None:
    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
    db.migrate()
    assert {"conversations", "messages"} <= set(inspect(db.engine).get_table_names())


OLD_ROWS = [  # as hearth before 0009 wrote them (plain SQL: the models are newer)
    ("INSERT INTO conversations (id, org_id, user_id, model, created_at, updated_at) "
     "VALUES ('chat', 'acme', 'alice', 'm', :now, :now)"),
    ("INSERT INTO messages (conversation_id, org_id, user_id, position, role, content, "
     "created_at) VALUES ('chat', 'acme', 'alice', 0, 'user', 'one', :now), "
     "('chat', 'acme', 'alice', 1, 'assistant', 'two', :now)"),
]


def test_conversations_stored_before_0009_keep_their_messages_and_owner(db: Database) -> None:
    alice, other = {"org_id": "acme", "user_id": "alice"}, {"org_id": "globex", "user_id": "alice"}
    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0008")
        for statement in OLD_ROWS:
            connection.execute(text(statement), {"now": datetime.now(UTC)})

    db.migrate()

    assert contents(db, "chat", **alice) == ["one", "two"]
    store.append_messages(db, "chat", [{"role": "user", "content": "three"}], **alice)
    assert contents(db, "chat", **alice) == ["one", "two", "three"]  # numbered after them
    store.ensure_conversation(db, "chat", model="m", **other)
    assert contents(db, "chat", **other) == []
    with db.engine.begin() as connection:  # back again, once no id is shared
        connection.execute(text("DELETE FROM conversations WHERE org_id = 'globex'"))
        command.downgrade(alembic_config(connection), "0008")
    db.migrate()
    assert contents(db, "chat", **alice) == ["one", "two", "three"]


def test_migrations_render_portable_sql_for_postgresql() -> None:
    output = io.StringIO()
    config = alembic_config()
    config.output_buffer = output
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://hearth@localhost/hearth")
    command.upgrade(config, "head", sql=True)
    sql = output.getvalue()
    assert "CREATE TABLE conversations" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql
    assert "id BIGSERIAL" in sql
    assert "ON DELETE CASCADE" in sql
    assert "CREATE EXTENSION IF NOT EXISTS vector" in sql
    assert "USING gin (text_search)" in sql
    assert "fts5" not in sql


def test_sqlite_runs_in_wal_mode_with_full_sync_and_foreign_keys(
    sqlite_db: Database, sqlite_path: Path
) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert connection.scalar(text("PRAGMA synchronous")) == 2  # FULL
        assert connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert connection.scalar(text("PRAGMA busy_timeout")) > 0
    # WAL is a property of the file, so every other reader sees it too.
    with sqlite3.connect(sqlite_path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_database_lives_under_hearth_home(tmp_path: Path) -> None:
    database = Database.from_settings(Settings(home=tmp_path / "hearth-home"))
    database.migrate()
    database.dispose()
    assert (tmp_path / "hearth-home" / "hearth.db").exists()


def test_deleting_a_conversation_deletes_its_messages(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    store.append_messages(db, conversation.id, [{"role": "user", "content": "hi"}])
    with db.session() as session:
        session.execute(delete(Conversation).where(Conversation.id == conversation.id))
    with db.session() as session:
        assert session.scalars(select(Message)).all() == []


# --- messages and titles ----------------------------------------------------------------


def test_appends_keep_messages_in_order_across_calls(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    store.append_messages(db, conversation.id, [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one"},
    ])
    store.append_messages(db, conversation.id, [{"role": "assistant", "content": "two"}])
    store.append_messages(db, conversation.id, [{"role": "user", "content": "three"}])

    stored = store.get_conversation(db, conversation.id).messages
    assert [(m.position, m.role, m.content) for m in stored] == [
        (0, "system", "be brief"),
        (1, "user", "one"),
        (2, "assistant", "two"),
        (3, "user", "three"),
    ]
    assert store.stored_message_count(db, conversation.id) == 4


def test_tool_calls_and_tool_results_are_stored_as_sent(db: Database) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}
    sent: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": "4°C, rain", "tool_call_id": "call_1", "name": "weather"},
    ]
    conversation = store.start_conversation(db, model="m")
    store.append_messages(db, conversation.id, sent)

    stored = store.get_conversation(db, conversation.id).messages
    assert [m.as_chat_message() for m in stored] == sent
    assert stored[0].tool_calls is None  # SQL NULL, not JSON null


def test_content_parts_are_stored_as_their_text(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    parts = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]
    store.append_messages(db, conversation.id, [{"role": "user", "content": parts}])
    assert contents(db, conversation.id) == ["Hello, world"]


def test_first_user_message_titles_an_untitled_conversation(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    question = "How do I\nmake sourdough bread at home without a proofing basket or any scale?"
    store.append_messages(db, conversation.id, [
        {"role": "system", "content": "You are a baker."},
        {"role": "user", "content": question},
    ])
    store.append_messages(db, conversation.id, [{"role": "user", "content": "Thanks!"}])

    title = store.get_conversation(db, conversation.id).title
    assert title == " ".join(question.split())[:60].rstrip()
    assert len(title) <= 60


def test_a_given_title_is_kept(db: Database) -> None:
    conversation = store.start_conversation(db, model="m", title="Bread")
    store.append_messages(db, conversation.id, [{"role": "user", "content": "Sourdough?"}])
    assert store.get_conversation(db, conversation.id).title == "Bread"


def test_append_is_committed_when_it_returns(db: Database, database_url: str) -> None:
    conversation = store.start_conversation(db, model="m")
    store.append_messages(db, conversation.id, [{"role": "user", "content": "remember me"}])

    # A separate engine has its own connections, which see only what was committed.
    other = Database(database_url)
    try:
        with other.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT role, content FROM messages WHERE conversation_id = :id"),
                {"id": conversation.id},
            ).all()
    finally:
        other.dispose()
    assert [tuple(row) for row in rows] == [("user", "remember me")]


def test_appending_to_a_missing_conversation_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        store.append_messages(db, "conv_missing", [{"role": "user", "content": "hi"}])
    assert store.stored_message_count(db, "conv_missing") == 0


def test_concurrent_appends_to_one_conversation_get_distinct_positions(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")

    def writer(name: str) -> None:
        for i in range(10):
            store.append_messages(db, conversation.id, [{"role": "user", "content": f"{name}{i}"}])

    threads = [threading.Thread(target=writer, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = store.get_conversation(db, conversation.id).messages
    assert [m.position for m in stored] == list(range(40))
    for name in "abcd":
        mine = [m.content for m in stored if (m.content or "").startswith(name)]
        assert mine == [f"{name}{i}" for i in range(10)]


def test_an_answer_reads_back_after_its_turn_though_another_turn_came_between(
        db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    first = store.start_turn(db, conversation.id, [{"role": "user", "content": "first"}])
    second = store.start_turn(db, conversation.id, [{"role": "user", "content": "second"}])
    store.finish_turn(db, conversation.id, second, {"role": "assistant", "content": "re second"})
    store.finish_turn(db, conversation.id, first, {"role": "assistant", "content": "re first"})

    assert contents(db, conversation.id) == ["first", "re first", "second", "re second"]


def test_a_turn_never_answered_leaves_no_message_behind(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    store.start_turn(db, conversation.id, [{"role": "user", "content": "asked"}])
    store.append_messages(db, conversation.id, [{"role": "user", "content": "asked again"}])

    assert contents(db, conversation.id) == ["asked", "asked again"]
    assert store.stored_message_count(db, conversation.id) == 2


def test_truncate_keeps_the_first_messages_and_the_next_turn_follows_them(
        db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    unanswered = store.start_turn(db, conversation.id, [{"role": "user", "content": "a"}])
    store.append_messages(db, conversation.id, [{"role": "user", "content": "b"},
                                                {"role": "assistant", "content": "re b"}])
    # Counted in messages: the unanswered turn's gap in positions does not count.
    assert store.truncate(db, conversation.id, 2) == 1
    assert contents(db, conversation.id) == ["a", "b"]
    store.append_messages(db, conversation.id, [{"role": "assistant", "content": "re b, again"}])
    assert contents(db, conversation.id) == ["a", "b", "re b, again"]
    assert store.truncate(db, conversation.id, 5) == 0
    with pytest.raises(NotFound):
        store.truncate(db, conversation.id, 0, user_id="mallory")
    assert store.truncate(db, conversation.id, 0) == 3
    # The first turn's messages are gone: its late answer is not kept.
    assert store.finish_turn(db, conversation.id, unanswered,
                             {"role": "assistant", "content": "stale"}) is None
    assert contents(db, conversation.id) == []


# --- conversations ----------------------------------------------------------------------


def test_conversations_are_listed_most_recently_updated_first(db: Database) -> None:
    first = store.start_conversation(db, model="m", title="first")
    second = store.start_conversation(db, model="m", title="second")
    assert [c.id for c in store.list_conversations(db)] == [second.id, first.id]

    store.append_messages(db, first.id, [{"role": "user", "content": "back to the first"}])
    assert [c.id for c in store.list_conversations(db)] == [first.id, second.id]
    assert [c.id for c in store.list_conversations(db, limit=1)] == [first.id]
    assert store.latest_conversation(db) == store.list_conversations(db, limit=1)[0]


def test_latest_conversation_is_none_before_any(db: Database) -> None:
    assert store.latest_conversation(db) is None


def test_timestamps_are_timezone_aware_utc(db: Database) -> None:
    conversation = store.start_conversation(db, model="m")
    store.append_messages(db, conversation.id, [{"role": "user", "content": "hi"}])
    stored = store.get_conversation(db, conversation.id)
    for moment in (stored.created_at, stored.updated_at, stored.messages[0].created_at):
        assert moment.utcoffset() == timedelta(0)


def test_ensure_conversation_creates_it_once_under_the_given_id(db: Database) -> None:
    created = store.ensure_conversation(db, "my-chat", model="m")
    store.append_messages(db, "my-chat", [{"role": "user", "content": "hi"}])
    again = store.ensure_conversation(db, "my-chat", model="other")

    assert created.id == again.id == "my-chat"
    assert again.model == "m"
    assert contents(db, "my-chat") == ["hi"]


def test_missing_conversation_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        store.get_conversation(db, "conv_missing")


# --- tenancy ----------------------------------------------------------------------------

class Owner(TypedDict):
    org_id: str
    user_id: str


OTHERS = [
    pytest.param(Owner(org_id="acme", user_id="local"), id="other-org"),
    pytest.param(Owner(org_id="local", user_id="mallory"), id="other-user"),
]


@pytest.mark.parametrize("other", OTHERS)
def test_someone_else_can_neither_read_nor_list_nor_append(
    db: Database, other: Owner
) -> None:
    mine = store.start_conversation(db, model="m")
    store.append_messages(db, mine.id, [{"role": "user", "content": "private"}])

    with pytest.raises(NotFound):
        store.get_conversation(db, mine.id, **other)
    with pytest.raises(NotFound):
        store.append_messages(db, mine.id, [{"role": "user", "content": "injected"}], **other)
    assert store.list_conversations(db, **other) == []
    assert store.latest_conversation(db, **other) is None
    assert store.stored_message_count(db, mine.id, **other) == 0
    assert contents(db, mine.id) == ["private"]


@pytest.mark.parametrize("other", OTHERS)
def test_the_same_id_names_a_conversation_of_each_owner(db: Database, other: Owner) -> None:
    store.ensure_conversation(db, "shared-id", model="m")
    store.append_messages(db, "shared-id", [{"role": "user", "content": "mine"}])

    theirs = store.ensure_conversation(db, "shared-id", model="m", **other)
    store.append_messages(db, "shared-id", [{"role": "user", "content": "theirs"}], **other)

    assert (theirs.org_id, theirs.user_id) == (other["org_id"], other["user_id"])
    assert contents(db, "shared-id") == ["mine"]
    assert contents(db, "shared-id", **other) == ["theirs"]
    assert [c.id for c in store.list_conversations(db, **other)] == ["shared-id"]
    assert store.stored_message_count(db, "shared-id", **other) == 1


def test_each_owner_sees_only_their_own_conversations(db: Database) -> None:
    alice = store.start_conversation(db, model="m", org_id="acme", user_id="alice")
    bob = store.start_conversation(db, model="m", org_id="acme", user_id="bob")
    for owner, conversation in (("alice", alice), ("bob", bob)):
        listed = store.list_conversations(db, org_id="acme", user_id=owner)
        assert [c.id for c in listed] == [conversation.id]
    assert store.list_conversations(db) == []


# --- durability -------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from hearth.store import conversations as store
    from hearth.store.db import Database

    db = Database(sys.argv[1])
    conversation_id = sys.argv[2]
    i = 0
    while True:
        store.append_messages(db, conversation_id, [{"role": "user", "content": f"message {i}"}])
        print(f"done {i}", flush=True)
        i += 1
""")


def test_acknowledged_messages_survive_kill_9(db: Database, database_url: str) -> None:
    conversation = store.start_conversation(db, model="m")
    db.dispose()
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, database_url, conversation.id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    watchdog = threading.Timer(60, child.kill)  # a hung child must not hang the suite
    watchdog.start()
    acknowledged = -1
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged = int(line.split()[1])
            if acknowledged == 29:
                # Kill while it is busy writing the next message, with no chance to clean up.
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        watchdog.cancel()
        child.wait()
    assert acknowledged == 29, child.stderr.read() if child.stderr else ""
    assert child.returncode == -signal.SIGKILL

    reopened = Database(database_url)
    try:
        stored = contents(reopened, conversation.id)
        if reopened.engine.dialect.name == "sqlite":  # the file the killed writer had open
            with reopened.engine.connect() as connection:
                assert connection.scalar(text("PRAGMA integrity_check")) == "ok"
    finally:
        reopened.dispose()
    # Every acknowledged message is there; one more may be, if it committed before the kill.
    assert stored[: acknowledged + 1] == [f"message {i}" for i in range(acknowledged + 1)]
    assert len(stored) <= acknowledged + 2
