"""Training data built from stored conversations: one owner's, or an org's one owner at a time;
never another org's; tool turns and unanswered tails left out; nothing to train on is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.store import conversations as store
from hearth.store.db import Database
from hearth.tune.conversations import NoConversationData, from_conversations
from hearth.tune.data import validate


def chat(db: Database, org: str, user: str, *turns: tuple[str, str]) -> None:
    """A stored conversation of ``user`` in ``org`` with these (question, answer) turns."""
    conversation = store.start_conversation(db, model="m", org_id=org, user_id=user)
    for question, answer in turns:
        store.append_messages(db, conversation.id, [
            {"role": "user", "content": question}, {"role": "assistant", "content": answer}],
            org_id=org, user_id=user)


def said(example: list[dict[str, str]]) -> str:
    return " ".join(message["content"] for message in example)


def test_one_users_conversations_become_one_example_each_and_no_one_elses(
        db: Database, tmp_path: Path) -> None:
    chat(db, "acme", "alice", ("alice q1", "alice a1"), ("alice q2", "alice a2"))
    chat(db, "acme", "alice", ("alice q3", "alice a3"))
    chat(db, "acme", "bob", ("bob q", "bob a"))
    chat(db, "globex", "alice", ("globex q", "globex a"))  # the same user id, another org

    data = from_conversations(db, "acme", "alice")

    assert data.count == 2 and data.per_user == {"alice": 2}
    assert sorted(said(example) for example in data.examples) == [
        "alice q1 alice a1 alice q2 alice a2", "alice q3 alice a3"]
    assert len(data.preview(1)) == 1 and "messages" in data.preview(1)[0]
    written = validate(data.write(tmp_path / "train.jsonl"))
    assert [example.messages for example in written.examples] == data.examples


def test_an_orgs_data_keeps_each_example_to_one_owner_and_never_reads_another_org(
        db: Database) -> None:
    chat(db, "acme", "alice", ("alice q", "alice a"))
    chat(db, "acme", "bob", ("bob q1", "bob a1"), ("bob q2", "bob a2"))
    chat(db, "globex", "carol", ("carol q", "carol a"))

    data = from_conversations(db, "acme")

    assert data.per_user == {"alice": 1, "bob": 1}
    for example in data.examples:  # every message names its writer's owner first
        assert len({message["content"].split()[0] for message in example}) == 1
    assert not any("carol" in said(example) for example in data.examples)


def test_tool_turns_unanswered_tails_and_late_system_messages_are_left_out(
        db: Database) -> None:
    conversation = store.start_conversation(db, model="m", org_id="acme", user_id="alice")
    store.append_messages(db, conversation.id, [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "system", "content": "a system message after the first"},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6"},
        {"role": "user", "content": "Left unanswered"},
    ], org_id="acme", user_id="alice")
    tools = store.start_conversation(db, model="m", org_id="acme", user_id="alice")
    store.append_messages(db, tools.id, [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "Sunny."},
    ], org_id="acme", user_id="alice")

    data = from_conversations(db, "acme", "alice")

    assert data.examples == [[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6"}]]
    assert data.skipped == 1  # the tool conversation has no answer before its tool call


def test_a_system_prompt_given_replaces_the_stored_one(db: Database) -> None:
    chat(db, "acme", "alice", ("q", "a"))
    data = from_conversations(db, "acme", "alice", system_prompt="You are terse.")
    assert data.examples[0][0] == {"role": "system", "content": "You are terse."}
    assert json.loads(data.lines()[0])["messages"][1] == {"role": "user", "content": "q"}


def test_no_conversation_to_learn_from_is_a_clear_error(db: Database) -> None:
    chat(db, "globex", "alice", ("q", "a"))
    with pytest.raises(NoConversationData, match="user 'alice' of org 'acme' has no stored"):
        from_conversations(db, "acme", "alice")
    with pytest.raises(NoConversationData, match="any user of org 'acme'"):
        from_conversations(db, "acme")
