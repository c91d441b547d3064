"""``/v1/files`` and ``/v1/fine_tuning/jobs`` of a live `hearth serve`, driven by the official
``openai`` SDK: a file is uploaded, a job trains the toy Qwen2 in the worker process the server
starts, and ends with its ``ft:`` model; bad data is refused naming its lines; another org sees
none of it; a plan without fine-tuning is refused; cancelling works; all of it is audited."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from hearth.governance import audit, tenancy
from hearth.store.db import Database
from live_server import LiveServer
from tune_server import (STEPS, TOY_HYPERPARAMETERS, TOY_MODEL, start_tune_server,
                         training_lines, wait_until_finished)

OPERATOR = "fine-tuning test"


@dataclass
class Tenants:
    server: LiveServer
    db_url: str
    keys: dict[str, str]  # "acme", "globex" (both on pro), "free", "service" (acme's)

    def client(self, who: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.server.base_url, api_key=self.keys[who],
                             max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory, toy_qwen2_gguf: Path) -> Iterator[Tenants]:
    home = tmp_path_factory.mktemp("home")
    url = f"sqlite:///{home / 'hearth.db'}"
    db = Database(url)
    db.migrate()
    keys = {}
    for org, plan, user, role in (("acme", "pro", "alice", "member"),
                                  ("globex", "pro", "bob", "owner"),
                                  ("freebie", "free", "carol", "owner")):
        tenancy.create_org(db, OPERATOR, org, plan=plan)
        tenancy.create_user(db, OPERATOR, org, user, role=role)
        keys[org] = tenancy.create_key(db, OPERATOR, org, user).secret
    keys["free"] = keys.pop("freebie")
    tenancy.create_user(db, OPERATOR, "acme", "backend", role="service")
    keys["service"] = tenancy.create_key(db, OPERATOR, "acme", "backend").secret
    db.dispose()
    server = start_tune_server(home, toy_qwen2_gguf, {"HEARTH_DATABASE_URL": url})
    yield Tenants(server, url, keys)
    server.stop()


def upload(client: openai.OpenAI, text: str, name: str = "facts.jsonl"):
    return client.files.create(file=(name, io.BytesIO(text.encode())), purpose="fine-tune")


def test_the_sdk_uploads_a_file_trains_a_job_and_gets_its_fine_tuned_model(
        tenants: Tenants, tmp_path: Path) -> None:
    client = tenants.client("acme")
    (tmp_path / "facts.jsonl").write_text(training_lines())
    with open(tmp_path / "facts.jsonl", "rb") as data:
        uploaded = client.files.create(file=data, purpose="fine-tune")
    assert uploaded.id.startswith("file-") and uploaded.object == "file"
    assert (uploaded.filename, uploaded.purpose, uploaded.status) == \
        ("facts.jsonl", "fine-tune", "processed")
    assert uploaded.bytes == len(training_lines().encode())
    assert client.files.content(uploaded.id).read() == training_lines().encode()
    assert [listed.id for listed in client.files.list()] == [uploaded.id]

    job = client.fine_tuning.jobs.create(
        model=TOY_MODEL, training_file=uploaded.id, suffix="facts", seed=7,
        method={"type": "supervised",
                "supervised": {"hyperparameters": TOY_HYPERPARAMETERS}})
    assert job.id.startswith("ftjob-") and job.status == "queued"
    assert (job.model, job.training_file, job.seed) == (TOY_MODEL, uploaded.id, 7)
    assert job.hyperparameters.n_epochs == 2
    assert job.hyperparameters.learning_rate_multiplier == pytest.approx(50)

    done = wait_until_finished(client.fine_tuning.jobs.retrieve, job.id)

    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model == f"ft:{TOY_MODEL}:acme:facts:{job.id.removeprefix('ftjob-')}"
    assert done.trained_tokens > 0 and done.finished_at >= done.created_at
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    assert events[0].message.startswith("Job succeeded") and events[-1].message == "Job queued"
    steps = [event for event in events if event.type == "metrics"]
    assert [event.data["step"] for event in steps] == list(range(STEPS, 0, -1))
    assert {"train_loss", "tokens_per_second", "seconds_left", "tokens"} <= set(steps[0].data)
    first_page = client.fine_tuning.jobs.list_events(job.id, limit=2)
    assert first_page.has_more and [e.id for e in first_page.data] == [e.id for e in events[:2]]
    after = client.fine_tuning.jobs.list_events(job.id, limit=2, after=events[1].id).data
    assert [event.id for event in after] == [event.id for event in events[2:4]]
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [checkpoint.step_number for checkpoint in checkpoints] == [4, 2]  # one per epoch
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-4"
    assert checkpoints[0].metrics.train_loss == pytest.approx(steps[0].data["train_loss"])
    assert client.fine_tuning.jobs.list().data[0].id == job.id


def test_a_bad_training_file_is_refused_naming_its_lines(tenants: Tenants) -> None:
    client = tenants.client("globex")
    bad = (training_lines() + "{not json\n"
           + json.dumps({"messages": [{"role": "robot", "content": "beep"}]}) + "\n"
           + json.dumps({"messages": []}) + "\n")

    with pytest.raises(openai.BadRequestError) as refused:
        upload(client, bad, "bad.jsonl")

    message = refused.value.body["message"]
    assert "3 problems" in message
    assert "line 3: is not valid JSON" in message and "line 4: message 1 has role 'robot'" \
        in message and "line 5: has no \"messages\" list" in message
    assert refused.value.body["code"] == "invalid_training_file"
    assert client.files.list().data == []


def test_another_org_can_neither_see_nor_touch_files_or_jobs(tenants: Tenants) -> None:
    acme, globex = tenants.client("acme"), tenants.client("globex")
    uploaded = upload(acme, training_lines())
    job = acme.fine_tuning.jobs.create(model=TOY_MODEL, training_file=uploaded.id)
    acme.fine_tuning.jobs.cancel(job.id)

    for call in (lambda: globex.files.retrieve(uploaded.id),
                 lambda: globex.files.content(uploaded.id),
                 lambda: globex.files.delete(uploaded.id),
                 lambda: globex.fine_tuning.jobs.create(model=TOY_MODEL,
                                                        training_file=uploaded.id),
                 lambda: globex.fine_tuning.jobs.retrieve(job.id),
                 lambda: globex.fine_tuning.jobs.list_events(job.id),
                 lambda: globex.fine_tuning.jobs.checkpoints.list(job.id),
                 lambda: globex.fine_tuning.jobs.cancel(job.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert uploaded.id not in [listed.id for listed in globex.files.list()]
    assert job.id not in [listed.id for listed in globex.fine_tuning.jobs.list()]
    assert acme.files.retrieve(uploaded.id).id == uploaded.id


def test_a_plan_without_fine_tuning_and_a_service_key_are_refused(tenants: Tenants) -> None:
    uploaded = upload(tenants.client("acme"), training_lines())
    for who, code in (("free", "fine_tuning_not_allowed"),
                      ("service", "insufficient_permissions")):
        client = tenants.client(who)
        with pytest.raises(openai.PermissionDeniedError) as refused:
            upload(client, training_lines())
        assert refused.value.body["code"] == code
        with pytest.raises(openai.PermissionDeniedError):
            client.fine_tuning.jobs.create(model=TOY_MODEL, training_file=uploaded.id)


def test_the_free_plans_refusal_says_how_to_get_fine_tuning(tenants: Tenants) -> None:
    response = httpx.post(f"{tenants.server.base_url}/files",
                          headers={"Authorization": f"Bearer {tenants.keys['free']}"},
                          files={"file": ("f.jsonl", training_lines().encode())},
                          data={"purpose": "fine-tune"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "permission_error"
    assert "'free' plan does not include fine-tuning" in error["message"]
    assert "hearth admin org set freebie --plan" in error["message"]


def test_a_cancelled_job_ends_cancelled_without_a_model(tenants: Tenants) -> None:
    client = tenants.client("acme")
    uploaded = upload(client, training_lines())
    job = client.fine_tuning.jobs.create(model=TOY_MODEL, training_file=uploaded.id,
                                         hyperparameters={"n_epochs": 50})

    client.fine_tuning.jobs.cancel(job.id)

    ended = wait_until_finished(client.fine_tuning.jobs.retrieve, job.id)
    assert (ended.status, ended.fine_tuned_model) == ("cancelled", None)
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)


def test_an_unknown_model_or_file_is_refused_before_anything_is_queued(
        tenants: Tenants) -> None:
    client = tenants.client("globex")
    uploaded = upload(client, training_lines())
    with pytest.raises(openai.NotFoundError) as refused:
        client.fine_tuning.jobs.create(model="no-such-model", training_file=uploaded.id)
    assert refused.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError) as refused:
        client.fine_tuning.jobs.create(model=TOY_MODEL, training_file="file-missing")
    assert refused.value.body["param"] == "training_file"
    assert client.fine_tuning.jobs.list().data == []


def test_uploads_deletions_job_creation_and_cancellation_are_audited(
        tenants: Tenants) -> None:
    client = tenants.client("globex")
    uploaded = upload(client, training_lines())
    job = client.fine_tuning.jobs.create(model=TOY_MODEL, training_file=uploaded.id)
    client.fine_tuning.jobs.cancel(job.id)
    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.deleted) == (uploaded.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)

    db = Database(tenants.db_url)
    try:
        logged = [(entry.action, entry.target) for entry in audit.entries(db, org_id="globex")]
    finally:
        db.dispose()
    assert {("file.upload", uploaded.id), ("fine_tuning.job.create", job.id),
            ("fine_tuning.job.cancel", job.id), ("file.delete", uploaded.id)} <= set(logged)
