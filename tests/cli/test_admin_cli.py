"""``hearth admin`` as an operator runs it: the real command in a subprocess, on a SQLite file
under its own ``HEARTH_HOME``.

Each run costs about a second of imports, so one test walks a whole session of steps. What a
command did is checked where it matters: a printed key is tried at the gate, a setting is
read back from the database, the audit log is read in-process.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from hearth.errors import Unauthorized
from hearth.governance import audit, gate, sessions, tenancy
from hearth.governance.gate import Cost
from hearth.store import memories as memory_store
from hearth.store.db import Database
from hearth.store.tables import Org
from hearth.store.memories import Owner


def hearth(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "COLUMNS": "200"}
    for name in ("HEARTH_DATABASE_URL", "HEARTH_USER", "HEARTH_ORG"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "hearth", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False, input=stdin)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit code 1 and one line on stderr, no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """The database the commands use (``HEARTH_HOME`` = ``tmp_path``), opened in the test too
    (it creates it first)."""
    return sqlite_db


def test_an_operator_manages_orgs_users_keys_plans_usage_and_audit(tmp_path: Path,
                                                                    db: Database) -> None:
    assert "Created organisation 'acme'" in ok(hearth(tmp_path, "admin", "org", "create",
                                                      "acme"))
    assert "Created user 'alice' in 'acme' as member" in ok(hearth(
        tmp_path, "admin", "user", "create", "acme", "alice", "--role", "member"))

    # A new key: the secret alone on stdout (so `$(hearth admin key create …)` captures it).
    created = hearth(tmp_path, "admin", "key", "create", "acme", "alice", "--scopes", "chat")
    secret = ok(created).strip()
    assert created.stdout == secret + "\n"
    assert secret.startswith("hth_") and len(secret.split()) == 1
    key_id = re.search(r"Created key (key_[0-9a-f]+)", created.stderr).group(1)
    admitted = gate.admit(db, secret, scope="chat")
    assert (admitted.principal.key_id, admitted.principal.user_id) == (key_id, "alice")

    listed = ok(hearth(tmp_path, "admin", "key", "list"))
    assert key_id in listed and secret[:12] in listed
    assert secret not in listed and secret[12:] not in listed and secret[13:30] not in listed

    assert f"Revoked {key_id}" in ok(hearth(tmp_path, "admin", "key", "revoke", key_id))
    with pytest.raises(Unauthorized) as err:
        gate.admit(db, secret, scope="chat")
    assert err.value.code == "revoked_api_key"

    limits = {"requests_per_minute": {"key": 5}, "concurrent_streams": {"user": 2}}
    assert "Plan 'tight' set (priority 3)" in ok(hearth(
        tmp_path, "admin", "plan", "set", "tight", "--limits", json.dumps(limits),
        "--priority", "3"))
    tight_row = next(line for line in ok(hearth(tmp_path, "admin", "plan", "list")).splitlines()
                     if line.startswith("tight\t"))
    assert tight_row.split("\t") == ["tight", "3", "5 / - / -", "- / - / -", "- / 2 / -"]

    assert "memories kept 30 days" in ok(hearth(
        tmp_path, "admin", "org", "set", "acme", "--plan", "tight", "--memory-days", "30"))
    acme = tenancy.get_org(db, "acme")
    assert (acme.plan, acme.memory_retention_days, acme.conversation_retention_days) == (
        "tight", 30, None)

    gate.settle(db, admitted, Cost(model="fake", route="/v1/chat/completions", status=200,
                                   duration_ms=2000.0, prompt_tokens=11, completion_tokens=7))
    csv_lines = ok(hearth(tmp_path, "admin", "usage", "--csv", "-")).splitlines()
    assert csv_lines[0].startswith("group,requests,prompt_tokens,completion_tokens,")
    assert [line.split(",")[:4] for line in csv_lines[1:]] == [["acme/alice", "1", "11", "7"]]

    assert [e.action for e in reversed(audit.entries(db))] == [
        "org.create", "user.create", "key.create", "key.revoke", "plan.set", "org.settings",
        "usage.read"]
    assert "Audit log intact: 7 entries" in ok(hearth(tmp_path, "admin", "audit", "verify"))

    with sqlite3.connect(tmp_path / "hearth.db") as tamper:
        tamper.execute("UPDATE audit_log SET actor = 'x' WHERE id = 1")
    tampered = hearth(tmp_path, "admin", "audit", "verify")
    assert tampered.returncode == 1
    assert "tampered" in tampered.stderr and "entry 1" in tampered.stderr


def test_a_password_is_read_from_stdin_never_shown_and_can_be_cleared(tmp_path: Path,
                                                                     db: Database) -> None:
    tenancy.create_org(db, "operator", "acme")
    tenancy.create_user(db, "operator", "acme", "ada")
    assert "acme/ada has a new password" in ok(hearth(
        tmp_path, "admin", "user", "password", "acme", "ada", stdin="correct horse battery\n"))
    assert sessions.start_with_password(db, "acme", "ada", "correct horse battery")
    listed = ok(hearth(tmp_path, "admin", "user", "list", "acme"))
    assert "set" in listed and "scrypt" not in listed and "correct" not in listed
    assert "10 to 1024 characters" in one_line_error(hearth(
        tmp_path, "admin", "user", "password", "acme", "ada", stdin="short\n"))
    assert "signs in with a key only" in ok(hearth(
        tmp_path, "admin", "user", "password", "acme", "ada", "--clear"))
    with pytest.raises(Unauthorized):
        sessions.start_with_password(db, "acme", "ada", "correct horse battery")


@pytest.mark.parametrize(("args", "says"), [
    (("user", "create", "nowhere", "bob"), "No organisation 'nowhere'"),
    (("user", "create", "local", "bob", "--role", "wizard"), "Unknown role 'wizard'"),
    (("org", "create", "local"), "Organisation 'local' exists already"),
])
def test_a_refused_admin_command_says_why_in_one_line(tmp_path: Path, args: tuple[str, ...],
                                                      says: str) -> None:
    assert says in one_line_error(hearth(tmp_path, "admin", *args))


def test_memory_export_and_forget_all_are_on_the_audit_log(tmp_path: Path,
                                                           db: Database) -> None:
    owner = Owner("local", "local")
    memory_store.add_memory(db, owner, kind="fact", text="I keep bees.",
                            embedding=np.full(384, 384 ** -0.5, dtype=np.float32),
                            observed_at=datetime(2024, 1, 1, tzinfo=UTC))

    exported = json.loads(ok(hearth(tmp_path, "memory", "export")))
    assert [m["text"] for m in exported["memories"]] == ["I keep bees."]
    assert "Forgot 1 memories" in ok(hearth(tmp_path, "memory", "forget", "--all", "--yes"))

    logged = [(e.action, e.org_id, e.target, e.details) for e in reversed(audit.entries(db))]
    assert logged == [("memory.export", "local", "local/local", {"memories": 1}),
                      ("memory.delete_all", "local", "local/local", {"memories": 1})]
    assert all(e.actor.startswith("operator ") for e in audit.entries(db))
    assert audit.verify(db).ok


def test_list_commands_print_whole_ids_when_piped_and_json_with_json(tmp_path: Path,
                                                                     db: Database) -> None:
    tenancy.create_user(db, "test", "local", "ann")
    made = tenancy.create_key(db, "test", "local", "ann", name="a label")
    listed = ok(hearth(tmp_path, "admin", "key", "list")).splitlines()
    assert listed[0].split("\t")[:3] == ["id", "prefix", "org/user"]
    assert listed[1].split("\t")[:4] == [made.key.id, made.key.prefix, "local/ann", "a label"]
    as_json = [json.loads(line) for line in ok(hearth(tmp_path, "admin", "key", "list",
                                                      "--json")).splitlines()]
    assert [(k["id"], k["org_id"], k["name"]) for k in as_json] == [
        (made.key.id, "local", "a label")]
    for args in (("org", "list"), ("user", "list", "local"), ("plan", "list"),
                 ("audit", "list")):
        items = [json.loads(line) for line in ok(hearth(tmp_path, "admin", *args,
                                                        "--json")).splitlines()]
        assert items, args
    assert {o["id"] for o in [json.loads(line) for line in ok(hearth(
        tmp_path, "admin", "org", "list", "--json")).splitlines()]} == {"local"}


@pytest.mark.parametrize(("limits", "says"), [
    ("{bad", "not valid JSON"),
    ("[]", "Input should be an object"),
    ('{"requests_per_minute": {"key": "sixty"}}', "requests_per_minute.key"),
    ('{"request_per_minute": {"key": 60}}', "request_per_minute"),
])
def test_bad_plan_limits_say_what_is_wrong_and_the_shape_expected(tmp_path: Path, limits: str,
                                                                  says: str) -> None:
    line = one_line_error(hearth(tmp_path, "admin", "plan", "set", "x", "--limits", limits))
    assert says in line and '{"requests_per_minute": {"key": 60}' in line


def test_a_purge_that_fails_for_one_org_says_which_and_purges_the_others(
        tmp_path: Path, db: Database) -> None:
    tenancy.create_org(db, "test", "acme")
    with db.session() as session:
        session.execute(update(Org).where(Org.id == "acme")
                        .values(conversation_retention_days=10_000_000))
    result = hearth(tmp_path, "admin", "purge")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith("Purged 0 conversations")
    assert result.stderr.splitlines()[-1].startswith("error: The purge failed for 'acme'")
    too_long = hearth(tmp_path, "admin", "org", "set", "local", "--conversation-days", "1000000")
    assert too_long.returncode == 2 and "Traceback" not in too_long.stderr


def test_serve_with_a_corrupt_gguf_says_so_in_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + bytes(range(256)) * 16)
    line = one_line_error(hearth(tmp_path, "serve", "--model", str(corrupt)))
    assert str(corrupt) in line and "llama.cpp cannot read it" in line
