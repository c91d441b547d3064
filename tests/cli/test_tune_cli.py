"""``hearth tune`` as a user runs it: the real command in a subprocess, a client of a live
server that fine-tunes the toy Qwen2 (tests/tune_server.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hearth.config import Settings
from hearth.governance.principal import LOCAL_ORG
from hearth.store import conversations
from hearth.store.db import Database
from live_server import LiveServer
from tune_server import TOY_MODEL, start_tune_server, training_lines


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, toy_qwen2_gguf: Path) -> Iterator[LiveServer]:
    live = start_tune_server(tmp_path_factory.mktemp("home"), toy_qwen2_gguf)
    yield live
    live.stop()


def hearth_tune(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it beside the server: the same hearth home (so
    --from-conversations reads the server's database), no terminal to answer questions."""
    env = {**os.environ, "HEARTH_URL": server.root, "HEARTH_HOME": str(server.home),
           "COLUMNS": "200"}
    for unset in ("HEARTH_API_KEY", "HEARTH_ORG", "HEARTH_DATABASE_URL"):
        env.pop(unset, None)
    return subprocess.run([sys.executable, "-m", "hearth", "tune", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False,
                          stdin=subprocess.DEVNULL)


def stored_chats(server: LiveServer, user: str, *turns: tuple[str, str]) -> None:
    """One stored conversation per (question, answer) of ``user`` in the local org, written to
    the server's own database."""
    db = Database.from_settings(Settings(home=server.home))
    for question, answer in turns:
        conversation = conversations.start_conversation(db, model=TOY_MODEL, org_id=LOCAL_ORG,
                                                        user_id=user)
        conversations.append_messages(db, conversation.id, [
            {"role": "user", "content": question}, {"role": "assistant", "content": answer}],
            org_id=LOCAL_ORG, user_id=user)


def uploaded_files(server: LiveServer) -> list[dict]:
    return httpx.get(f"{server.base_url}/files").json()["data"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "facts.jsonl"
    path.write_text(training_lines())
    return path


def test_create_uploads_trains_follows_to_the_end_and_names_the_model(
        server: LiveServer, data: Path) -> None:
    created = hearth_tune(server, "create", "--data", str(data), "--base", TOY_MODEL,
                          "--name", "facts", "--epochs", "1", "--validation", str(data))

    assert created.returncode == 0, created.stderr
    assert "Uploaded facts.jsonl as file-" in created.stderr
    assert "Job started" in created.stderr and "Validation loss:" in created.stderr
    assert f"succeeded: ft:{TOY_MODEL}:local:facts:" in created.stderr

    [listed] = [json.loads(line) for line in
                hearth_tune(server, "list", "--json").stdout.splitlines()]
    assert (listed["object"], listed["status"]) == ("fine_tuning.job", "succeeded")
    shown = json.loads(hearth_tune(server, "show", listed["id"], "--json").stdout)
    assert shown["fine_tuned_model"] == listed["fine_tuned_model"]
    assert shown["validation_file"].startswith("file-")
    logs = [json.loads(line) for line in
            hearth_tune(server, "logs", listed["id"], "--json").stdout.splitlines()]
    assert logs[0]["message"] == "Job queued" and logs[-1]["message"].startswith("Job succeeded")
    assert [event["data"]["step"] for event in logs if event["type"] == "metrics"] == [1, 2]
    plain = hearth_tune(server, "show", listed["id"]).stdout
    assert "status: succeeded\n" in plain and f"base: {TOY_MODEL}\n" in plain


def test_bad_data_is_listed_line_by_line_and_nothing_is_uploaded(
        server: LiveServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(training_lines() + "{oops\n" + json.dumps({"messages": [
        {"role": "user", "content": "no answer"}]}) + "\n")

    refused = hearth_tune(server, "create", "--data", str(bad), "--base", TOY_MODEL)

    assert refused.returncode == 1
    assert "has 2 problems" in refused.stderr
    assert "line 3: is not valid JSON" in refused.stderr
    assert "line 4: has no assistant message" in refused.stderr
    assert "Uploaded" not in refused.stderr


def test_a_job_started_without_following_can_be_cancelled(server: LiveServer,
                                                          data: Path) -> None:
    started = hearth_tune(server, "create", "--data", str(data), "--base", TOY_MODEL,
                          "--epochs", "100", "--no-follow")
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    assert job_id.startswith("ftjob-")

    cancelled = json.loads(hearth_tune(server, "cancel", job_id, "--json").stdout)

    assert cancelled["id"] == job_id and cancelled["status"] in ("cancelled", "running")
    again = hearth_tune(server, "cancel", "ftjob-unknown")
    assert again.returncode == 1 and "No fine-tuning job 'ftjob-unknown'" in again.stderr


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "HEARTH_URL": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, "-m", "hearth", "tune", "list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "Cannot reach hearth at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_create_from_conversations_shows_what_it_will_upload_then_trains_on_it(
        server: LiveServer) -> None:
    stored_chats(server, "dana", ("Who keeps the lighthouse?", "Old Mara keeps it."),
                 ("What colour is the door?", "The door is green."))
    stored_chats(server, "erik", ("Not dana's", "Never in dana's data."))

    created = hearth_tune(server, "create", "--from-conversations", "dana", "--base",
                          TOY_MODEL, "--epochs", "1", "--name", "dana", "--yes")

    assert created.returncode == 0, created.stderr
    assert "2 examples from the conversations of user 'dana' in org 'local'" in created.stderr
    assert "user: Who keeps the lighthouse?" in created.stderr
    assert "assistant: The door is green." in created.stderr
    assert "Uploaded conversations.jsonl as file-" in created.stderr
    assert f"succeeded: ft:{TOY_MODEL}:local:dana:" in created.stderr
    file_id = created.stderr.split("Uploaded conversations.jsonl as ")[1].split()[0]
    content = httpx.get(f"{server.base_url}/files/{file_id}/content").text
    examples = [json.loads(line)["messages"] for line in content.splitlines()]
    assert sorted(message["content"] for example in examples for message in example) == [
        "Old Mara keeps it.", "The door is green.", "What colour is the door?",
        "Who keeps the lighthouse?"]


def test_create_from_conversations_uploads_nothing_unless_the_user_agrees(
        server: LiveServer) -> None:
    stored_chats(server, "fay", ("A question", "An answer."))
    before = uploaded_files(server)

    declined = hearth_tune(server, "create", "--from-conversations", "fay", "--base",
                           TOY_MODEL)

    assert declined.returncode == 1
    assert "1 example from the conversations of user 'fay'" in declined.stderr
    assert "Nothing was uploaded." in declined.stderr
    assert uploaded_files(server) == before
    nobody = hearth_tune(server, "create", "--from-conversations", "nobody", "--yes")
    assert nobody.returncode == 1 and "user 'nobody' of org 'local' has no stored" in \
        nobody.stderr
    neither = hearth_tune(server, "create", "--base", TOY_MODEL)
    assert neither.returncode == 1 and "either as --data FILE.jsonl or with " \
        "--from-conversations USER" in neither.stderr
