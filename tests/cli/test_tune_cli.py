"""``hearth tune`` as a user runs it: the real command in a subprocess, a client of a live
server that fine-tunes the toy Qwen2 (tests/tune_server.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from live_server import LiveServer
from tune_server import TOY_MODEL, start_tune_server, training_lines


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, toy_qwen2_gguf: Path) -> Iterator[LiveServer]:
    live = start_tune_server(tmp_path_factory.mktemp("home"), toy_qwen2_gguf)
    yield live
    live.stop()


def hearth_tune(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_URL": server.root, "COLUMNS": "200"}
    env.pop("HEARTH_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "hearth", "tune", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


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
    assert f"status: succeeded\n" in plain and f"base: {TOY_MODEL}\n" in plain


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
