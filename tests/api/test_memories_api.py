"""``/v1/memories`` over HTTP: the whole app (fake engine, real MiniLM embeddings), on SQLite
and on PostgreSQL.

One app serves the module (for each database), because loading the embedding model takes seconds; every test
speaks as its own user, so tests never see each other's memories.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql

from hearth.api.app import create_app
from hearth.config import Settings
from hearth.store import memories as store
from hearth.store.db import Database
from hearth.store.memories import Owner

MEMORY_FIELDS = {"id", "object", "kind", "text", "observed_at", "recorded_at", "valid_from",
                 "valid_to", "importance", "pinned", "superseded_by"}


def settings_for(home: Path, **overrides: Any) -> Settings:
    return Settings(**{"home": home, "database_url": None, "engine": "fake",
                       "model": "fake-model", **overrides})


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path_factory.mktemp("home"),
                                  database_url=module_database_url))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def db(client: TestClient) -> Database:
    return client.app.state.db  # type: ignore[attr-defined]


def user(name: str) -> dict[str, str]:
    return {"X-Hearth-User": name}


def create(client: TestClient, who: str, text: str, kind: str = "fact",
           **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/memories", headers=user(who),
                           json={"text": text, "kind": kind, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def texts(response_json: dict[str, Any]) -> list[str]:
    return [m["text"] for m in response_json["data"]]


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code
    return error


# -- create, read, list --------------------------------------------------------------------------


def test_a_created_memory_is_a_memory_object_that_reads_back_by_id(client: TestClient) -> None:
    created = create(client, "ada", "Ada's favourite tea is lapsang souchong", "preference",
                     observed_at="2024-03-01T09:30:00Z", importance=0.8, pinned=True)

    assert set(created) == MEMORY_FIELDS
    assert created["object"] == "memory"
    assert (created["kind"], created["importance"], created["pinned"]) == ("preference", 0.8, True)
    assert created["observed_at"].startswith("2024-03-01T09:30:00")
    assert created["valid_to"] is None and created["superseded_by"] is None
    assert client.get(f"/v1/memories/{created['id']}", headers=user("ada")).json() == created


def test_observed_at_defaults_to_now_and_a_time_without_offset_is_utc(client: TestClient) -> None:
    before = time.time()
    now = create(client, "bea", "Bea moved to Leeds")
    naive = create(client, "bea", "Bea started a pottery class", observed_at="2023-05-02T10:00:00")

    assert datetime.fromisoformat(now["observed_at"]).timestamp() >= before - 1
    assert datetime.fromisoformat(naive["observed_at"]).utcoffset().total_seconds() == 0
    assert naive["observed_at"].startswith("2023-05-02T10:00:00")


def test_the_list_is_newest_first_and_filters_by_kind_with_limit_and_offset(
    client: TestClient,
) -> None:
    for day, (text, kind) in enumerate([("Cy likes jazz", "preference"),
                                        ("Cy has a dog called Biscuit", "fact"),
                                        ("Cy likes cycling", "preference")], start=1):
        create(client, "cy", text, kind, observed_at=f"2024-01-0{day}T00:00:00Z")

    listed = client.get("/v1/memories", headers=user("cy")).json()
    assert listed["object"] == "list"
    assert texts(listed) == ["Cy likes cycling", "Cy has a dog called Biscuit", "Cy likes jazz"]
    preferences = client.get("/v1/memories", headers=user("cy"), params={"kind": "preference"})
    assert texts(preferences.json()) == ["Cy likes cycling", "Cy likes jazz"]
    page = client.get("/v1/memories", headers=user("cy"), params={"limit": 1, "offset": 1})
    assert texts(page.json()) == ["Cy has a dog called Biscuit"]


def test_superseded_memories_are_listed_only_when_asked_for(
    client: TestClient, db: Database,
) -> None:
    old = create(client, "dot", "Dot lives in Bristol", observed_at="2022-01-01T00:00:00Z")
    new = create(client, "dot", "Dot lives in Cardiff", observed_at="2024-01-01T00:00:00Z")
    with db.session() as session:
        store.supersede(session, Owner("local", "dot"), old["id"], by=new["id"],
                        valid_to=datetime(2024, 1, 1, tzinfo=UTC))

    assert texts(client.get("/v1/memories", headers=user("dot")).json()) == ["Dot lives in Cardiff"]
    everything = client.get("/v1/memories", headers=user("dot"),
                            params={"include_superseded": "true"}).json()["data"]
    assert [(m["text"], m["superseded_by"]) for m in everything] == [
        ("Dot lives in Cardiff", None), ("Dot lives in Bristol", new["id"])]
    assert everything[1]["valid_to"].startswith("2024-01-01")


# -- search ------------------------------------------------------------------------------------


def test_search_finds_memories_by_words_and_by_meaning_best_first_with_scores(
    client: TestClient,
) -> None:
    create(client, "eve", "Eve is allergic to peanuts", "profile")
    create(client, "eve", "Eve's brother Tom plays the cello", "relationship")
    create(client, "eve", "Eve is saving up for a trip to Japan", "plan")

    by_words = client.get("/v1/memories/search", headers=user("eve"),
                          params={"q": "cello", "limit": 2}).json()
    by_meaning = client.get("/v1/memories/search", headers=user("eve"),
                            params={"q": "nut allergy"}).json()

    assert by_words["object"] == "list" and len(by_words["data"]) <= 2
    assert by_words["data"][0]["text"] == "Eve's brother Tom plays the cello"
    assert by_meaning["data"][0]["text"] == "Eve is allergic to peanuts"
    scores = [m["score"] for m in by_meaning["data"]]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert set(by_meaning["data"][0]) == MEMORY_FIELDS | {"score"}


def test_a_search_needs_a_query(client: TestClient) -> None:
    assert_error(client.get("/v1/memories/search", headers=user("eve")), 400, "invalid_request")
    assert_error(client.get("/v1/memories/search", headers=user("eve"), params={"q": ""}), 400)
    assert_error(client.get("/v1/memories/search", headers=user("eve"), params={"q": "  "}), 400)


# -- edit, pin, provenance ---------------------------------------------------------------------


def test_an_edit_changes_only_the_fields_given_and_reindexes_new_text(
    client: TestClient, db: Database,
) -> None:
    memory = create(client, "fay", "Fay drives a red tractor", "fact", importance=0.3)

    edited = client.patch(f"/v1/memories/{memory['id']}", headers=user("fay"),
                          json={"text": "Fay drives a green motorbike", "importance": 0.9})

    assert edited.status_code == 200, edited.text
    assert edited.json() == {**memory, "text": "Fay drives a green motorbike", "importance": 0.9}
    fay = Owner("local", "fay")
    assert store.fulltext_search(db, fay, "tractor") == []
    assert [i for i, _ in store.fulltext_search(db, fay, "motorbike")] == [memory["id"]]
    kind = client.patch(f"/v1/memories/{memory['id']}", headers=user("fay"), json={"kind": "event"})
    assert (kind.json()["kind"], kind.json()["text"]) == ("event", "Fay drives a green motorbike")


def test_pin_and_unpin_set_the_pinned_flag(client: TestClient) -> None:
    memory = create(client, "gil", "Gil is vegetarian", "preference")

    pinned = client.post(f"/v1/memories/{memory['id']}/pin", headers=user("gil")).json()
    unpinned = client.post(f"/v1/memories/{memory['id']}/unpin", headers=user("gil")).json()

    assert (memory["pinned"], pinned["pinned"], unpinned["pinned"]) == (False, True, False)


def test_a_memory_created_through_the_api_says_so_in_its_sources(client: TestClient) -> None:
    memory = create(client, "hal", "Hal speaks Welsh")

    sources = client.get(f"/v1/memories/{memory['id']}/sources", headers=user("hal")).json()

    assert sources["object"] == "list" and sources["memory_id"] == memory["id"]
    assert sources["data"] == [{"object": "memory.source", "message_id": None,
                                "conversation_id": None, "ref": "api", "excerpt": None}]


def chat(client: TestClient, who: str, text: str, *, conversation: str | None = None,
         headers: dict[str, str] | None = None, metadata: dict[str, str] | None = None) -> None:
    meta = {**({"conversation": conversation} if conversation else {}), **(metadata or {})}
    response = client.post("/v1/chat/completions", headers={**user(who), **(headers or {})},
                           json={"model": "fake-model", "metadata": meta,
                                 "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200, response.text


def wait_for_memories(client: TestClient, who: str, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.get("/v1/memories", headers=user(who)).json()["data"]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no memory of {who} appeared within {timeout} s")


def test_a_remembered_chat_message_is_its_memorys_source(client: TestClient, db: Database) -> None:
    chat(client, "ivy", "I live in Porto and I work as a nurse.", conversation="conv_ivy")

    memory = wait_for_memories(client, "ivy")[0]
    sources = client.get(f"/v1/memories/{memory['id']}/sources", headers=user("ivy")).json()

    with db.session() as session:
        said = session.execute(sql("SELECT id FROM messages WHERE conversation_id = 'conv_ivy' "
                                   "AND role = 'user'")).scalar_one()
    source = sources["data"][0]
    assert (source["conversation_id"], source["message_id"]) == ("conv_ivy", said)
    assert source["excerpt"] == "I live in Porto and I work as a nurse."


def test_chat_with_memory_off_queues_nothing_to_remember(client: TestClient, db: Database) -> None:
    chat(client, "jo", "I live in Oslo.", headers={"X-Hearth-Memory": "off"})
    chat(client, "jo", "I work as a welder.", metadata={"memory": "off"})

    with db.session() as session:
        jobs = session.execute(sql("SELECT count(*) FROM memory_jobs "
                                   "WHERE user_id = 'jo'")).scalar_one()
    assert jobs == 0
    assert client.get("/v1/memories", headers=user("jo")).json()["data"] == []


# -- forget ------------------------------------------------------------------------------------


def test_a_deleted_memory_is_gone(client: TestClient) -> None:
    memory = create(client, "kim", "Kim hates olives")

    deleted = client.delete(f"/v1/memories/{memory['id']}", headers=user("kim"))

    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(client.get(f"/v1/memories/{memory['id']}", headers=user("kim")), 404,
                 "memory_not_found")
    assert_error(client.delete(f"/v1/memories/{memory['id']}", headers=user("kim")), 404,
                 "memory_not_found")


def test_forgetting_everything_removes_all_of_one_users_memories_only(client: TestClient) -> None:
    create(client, "lea", "Lea plays chess")
    create(client, "lea", "Lea has two cats")
    create(client, "max", "Max plays chess")

    forgotten = client.delete("/v1/memories", headers=user("lea"))

    assert forgotten.json() == {"object": "memory.deleted", "deleted": 2}
    assert client.get("/v1/memories", headers=user("lea")).json()["data"] == []
    assert texts(client.get("/v1/memories", headers=user("max")).json()) == ["Max plays chess"]


# -- export and import -------------------------------------------------------------------------


def test_an_export_imported_for_another_user_keeps_kind_time_importance_pin_and_sources(
    client: TestClient,
) -> None:
    create(client, "ned", "Ned was born in Cork", "profile", observed_at="1990-06-01T00:00:00Z",
           importance=0.9, pinned=True)
    create(client, "ned", "Ned is learning Italian", "plan", observed_at="2024-02-01T00:00:00Z")

    exported = client.get("/v1/memories/export", headers=user("ned")).json()
    imported = client.post("/v1/memories/import", headers=user("oli"), json=exported)
    again = client.post("/v1/memories/import", headers=user("oli"), json=exported)
    copy = client.get("/v1/memories/export", headers=user("oli")).json()

    assert exported["version"] == 1 and exported["exported_at"]
    assert imported.json() == {"object": "memory.import", "imported": 2, "skipped": 0}
    assert again.json() == {"object": "memory.import", "imported": 0, "skipped": 2}
    kept = ["kind", "text", "subject", "observed_at", "valid_from", "valid_to", "importance",
            "pinned", "sources"]
    assert [{k: m[k] for k in kept} for m in copy["memories"]] == \
        [{k: m[k] for k in kept} for m in exported["memories"]]
    assert exported["memories"][0]["sources"] == [{"object": "memory.source", "message_id": None,
                                                   "conversation_id": None, "ref": "api",
                                                   "excerpt": None}]
    found = client.get("/v1/memories/search", headers=user("oli"), params={"q": "Italian"})
    assert found.json()["data"][0]["text"] == "Ned is learning Italian"


def test_an_import_restores_which_memory_superseded_which(client: TestClient) -> None:
    document = {"version": 1, "exported_at": "2024-06-01T00:00:00Z", "memories": [
        {"id": 7, "kind": "fact", "text": "Pat works at the bakery",
         "observed_at": "2023-01-01T00:00:00Z", "valid_to": "2024-01-01T00:00:00Z",
         "superseded_by": 9},
        {"id": 9, "kind": "fact", "text": "Pat works at the library",
         "observed_at": "2024-01-01T00:00:00Z",
         "sources": [{"conversation_id": "conv_1", "message_id": 3, "excerpt": "I work at the library now"}]},
    ]}

    assert client.post("/v1/memories/import", headers=user("pat"),
                       json=document).json()["imported"] == 2

    current = client.get("/v1/memories", headers=user("pat")).json()["data"]
    everything = client.get("/v1/memories", headers=user("pat"),
                            params={"include_superseded": "true"}).json()["data"]
    assert texts({"data": current}) == ["Pat works at the library"]
    assert everything[1]["text"] == "Pat works at the bakery"
    assert everything[1]["superseded_by"] == current[0]["id"]
    sources = client.get(f"/v1/memories/{current[0]['id']}/sources", headers=user("pat")).json()
    assert sources["data"][0]["excerpt"] == "I work at the library now"


def test_an_import_that_is_not_an_export_is_rejected_without_storing_anything(
    client: TestClient,
) -> None:
    bad_kind = {"version": 1, "exported_at": "2024-06-01T00:00:00Z",
                "memories": [{"kind": "gossip", "text": "x", "observed_at": "2024-01-01T00:00:00Z"}]}

    assert_error(client.post("/v1/memories/import", headers=user("quin"), json=bad_kind), 400)
    assert_error(client.post("/v1/memories/import", headers=user("quin"),
                             json={"memories": "all of them"}), 400)
    assert client.get("/v1/memories", headers=user("quin")).json()["data"] == []


# -- errors ------------------------------------------------------------------------------------


def test_without_a_named_user_memories_are_the_callers_own(client: TestClient) -> None:
    """On an open local install the caller is the local user; naming a user is optional."""
    created = client.post("/v1/memories", json={"text": "The operator likes tea.",
                                                "kind": "preference"})
    assert created.status_code == 201, created.text

    assert "The operator likes tea." in texts(client.get("/v1/memories").json())
    assert "The operator likes tea." in texts(
        client.get("/v1/memories", headers=user("local")).json())
    assert "The operator likes tea." not in texts(
        client.get("/v1/memories", headers=user("someone-else")).json())


def test_an_unknown_id_is_memory_not_found(client: TestClient) -> None:
    for response in (client.get("/v1/memories/999999", headers=user("ray")),
                     client.get("/v1/memories/999999/sources", headers=user("ray")),
                     client.patch("/v1/memories/999999", headers=user("ray"), json={"pinned": True}),
                     client.post("/v1/memories/999999/pin", headers=user("ray")),
                     client.delete("/v1/memories/999999", headers=user("ray"))):
        assert_error(response, 404, "memory_not_found")


@pytest.mark.parametrize("body", [
    {"text": "Sam sings", "kind": "gossip"},
    {"text": "   ", "kind": "fact"},
    {"text": "Sam sings", "kind": "fact", "importance": 1.5},
    {"text": "Sam sings", "kind": "fact", "colour": "blue"},
    {"kind": "fact"},
], ids=["unknown-kind", "blank-text", "importance-above-1", "unknown-field", "no-text"])
def test_an_invalid_memory_is_a_400_and_nothing_is_stored(
    client: TestClient, body: dict[str, Any],
) -> None:
    assert_error(client.post("/v1/memories", headers=user("sam"), json=body), 400,
                 "invalid_request")
    assert client.get("/v1/memories", headers=user("sam")).json()["data"] == []


def test_an_unknown_kind_in_the_list_filter_is_a_400(client: TestClient) -> None:
    assert_error(client.get("/v1/memories", headers=user("sam"), params={"kind": "gossip"}), 400)


def test_memory_turned_off_says_so(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, memory=False))
    with TestClient(app) as off:
        error = assert_error(off.get("/v1/memories", headers=user("tia")), 404, "memory_disabled")
    assert "turned off" in error["message"]
