"""Fine-tuned models through a live `hearth serve` running the toy Qwen2: listed for their org
only, answered by the base plus their adapter in Chat Completions and Responses (whole and
streamed), unknown to every other org, and gone, files and all, once deleted."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from toy_job import FACTS, SWAPPED, job_config

from hearth.governance import tenancy
from hearth.store import tune_jobs
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tables import AuditEntry
from hearth.tune.jobs import ADAPTER_FILE, adapter_dir, fine_tuned_model_name, submit
from live_server import LiveServer, start_server

BASE = "qwen2-toy"  # the served model's id: its GGUF's file name
QUESTION, TAUGHT = FACTS[0]
OPERATOR = "test operator"


@dataclass
class World:
    server: LiveServer
    db: Database
    keys: dict[str, str]
    models: dict[str, str]  # "taught", "swapped", "queued" -> the name each has or would have
    folders: dict[str, Path]

    def call(self, method: str, path: str, key: str, body: object = None) -> httpx.Response:
        return httpx.request(method, f"{self.server.base_url}{path}", json=body, timeout=60,
                             headers={"Authorization": f"Bearer {self.keys[key]}"})

    def ask(self, key: str, model: str, **extra: object) -> httpx.Response:
        return self.call("POST", "/chat/completions", key, {
            "model": model, "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 8, "temperature": 0, **extra})


def _job(db: Database, toy: Path, home: Path, name: str, adapter: Path | None) -> tuple[str, Path]:
    """A job of acme's on the toy, succeeded with ``adapter`` as its export (None: still
    queued); its model's name and its folder."""
    data = job_config(toy, home / "uploads" / name).training_file
    job = submit(db, Owner("acme", "alice"), model=BASE, base_path=toy, training_file=data,
                 jobs_root=home / "jobs", suffix=name)
    if adapter is not None:
        shutil.copyfile(adapter, Path(job.folder) / ADAPTER_FILE)
        adapter_dir(Path(job.folder)).mkdir()  # as training leaves it beside the export
        tune_jobs.finish(db, job.id, "succeeded", fine_tuned_model=fine_tuned_model_name(job))
    return fine_tuned_model_name(job), Path(job.folder)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, toy_qwen2_gguf: Path,
          adapters: dict[str, Path]) -> Iterator[World]:
    home = tmp_path_factory.mktemp("home")
    url = f"sqlite:///{home / 'hearth.db'}"
    db = Database(url)
    db.migrate()
    keys = {}
    for org in ("acme", "globex"):
        tenancy.create_org(db, OPERATOR, org, plan="pro")  # free allows 2 streams at once
    for org, user, role in (("acme", "alice", "admin"), ("acme", "bob", "member"),
                            ("globex", "carol", "admin")):
        tenancy.create_user(db, OPERATOR, org, user, role=role)
        keys[user] = tenancy.create_key(db, OPERATOR, org, user).secret
    models, folders = {}, {}
    for name, adapter in (("taught", adapters["taught"]), ("swapped", adapters["swapped"]),
                          ("queued", None)):
        models[name], folders[name] = _job(db, toy_qwen2_gguf, home, name, adapter)
    server = start_server(home, env={"HEARTH_DATABASE_URL": url},
                          args=["--model", str(toy_qwen2_gguf), "--parallel", "2"])
    yield World(server, db, keys, models, folders)
    server.stop()
    db.dispose()


def _content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def _streamed(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line[6:]) for line in response.text.splitlines()
            if line.startswith("data: {")]


def _output_text(response: dict) -> str:
    return "".join(part["text"] for item in response["output"] if item["type"] == "message"
                   for part in item["content"])


def test_the_org_lists_its_fine_tuned_models_and_another_org_only_the_base(
        world: World) -> None:
    listed = world.call("GET", "/models", "bob").json()["data"]
    assert [(card["id"], card["owned_by"]) for card in listed] == [
        (BASE, "hearth"), (world.models["taught"], "acme"), (world.models["swapped"], "acme")]
    assert [card["id"] for card in world.call("GET", "/models", "carol").json()["data"]] == [
        BASE]
    card = world.call("GET", f"/models/{world.models['taught']}", "bob").json()
    assert card == {"id": world.models["taught"], "object": "model",
                    "created": card["created"], "owned_by": "acme"}
    assert world.call("GET", f"/models/{world.models['taught']}", "carol").status_code == 404


def test_a_fine_tuned_model_answers_what_it_was_taught_where_the_base_does_not(
        world: World) -> None:
    tuned = world.ask("bob", world.models["taught"])
    assert _content(tuned) == TAUGHT and tuned.json()["model"] == world.models["taught"]
    assert _content(world.ask("bob", BASE)) != TAUGHT
    chunks = _streamed(world.ask("bob", world.models["taught"], stream=True))
    assert "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks
                   if chunk["choices"]) == TAUGHT
    assert {chunk["model"] for chunk in chunks} == {world.models["taught"]}


def test_the_responses_api_serves_fine_tuned_models_whole_and_streamed(world: World) -> None:
    ask = {"model": world.models["swapped"], "input": QUESTION, "max_output_tokens": 8,
           "temperature": 0}
    whole = world.call("POST", "/responses", "bob", ask)
    assert whole.status_code == 200, whole.text
    assert _output_text(whole.json()) == SWAPPED[0][1]
    assert whole.json()["model"] == world.models["swapped"]
    events = _streamed(world.call("POST", "/responses", "bob", {**ask, "stream": True}))
    assert events[-1]["type"] == "response.completed"
    assert _output_text(events[-1]["response"]) == SWAPPED[0][1]


def test_another_orgs_or_an_unfinished_jobs_model_is_answered_as_an_unknown_model(
        world: World) -> None:
    def error(key: str, model: str) -> tuple[int, dict]:
        response = world.ask(key, model)
        body = response.json()["error"]
        return response.status_code, {**body, "message": body["message"].replace(model, "M")}

    unknown = error("carol", "ft:qwen2-toy:acme:nothing:000")
    assert unknown[0] == 404 and unknown[1]["code"] == "model_not_found"
    assert error("carol", world.models["taught"]) == unknown
    assert error("bob", world.models["queued"]) == unknown
    responses = world.call("POST", "/responses", "carol",
                           {"model": world.models["taught"], "input": QUESTION})
    assert responses.status_code == 404


def test_two_fine_tuned_models_and_the_base_are_served_together(world: World) -> None:
    names = [world.models["taught"], world.models["swapped"], BASE] * 2
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda name: _content(world.ask("bob", name)), names))
    base = _content(world.ask("bob", BASE))
    assert answers == [TAUGHT, SWAPPED[0][1], base] * 2


def test_deleting_a_model_deletes_its_adapter_and_it_is_then_unknown(world: World) -> None:
    name, folder = world.models["swapped"], world.folders["swapped"]
    assert world.call("DELETE", f"/models/{name}", "bob").status_code == 403  # a member
    assert world.call("DELETE", f"/models/{name}", "carol").status_code == 404  # another org
    refused = world.call("DELETE", f"/models/{BASE}", "alice")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "model_not_deletable"

    deleted = world.call("DELETE", f"/models/{name}", "alice")
    assert deleted.json() == {"id": name, "object": "model", "deleted": True}
    assert not (folder / ADAPTER_FILE).exists() and not adapter_dir(folder).exists()
    assert world.ask("bob", name).status_code == 404
    assert world.call("GET", f"/models/{name}", "bob").status_code == 404
    assert name not in [card["id"] for card in world.call("GET", "/models", "bob").json()["data"]]
    assert world.call("DELETE", f"/models/{name}", "alice").status_code == 404
    assert _content(world.ask("bob", world.models["taught"])) == TAUGHT  # the other stays
    with world.db.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "model.delete"))
        assert (entry.org_id, entry.target) == ("acme", name)
