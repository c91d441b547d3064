"""``hearth memory`` on the local database: list, search, forget, export and import.

Commands run in-process (typer's runner) so the embedding model loads once for the module;
each test has its own ``HEARTH_HOME`` and so its own SQLite file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from hearth.cli.main import app as hearth
from hearth.cli.memory import app
from hearth.config import Settings
from hearth.memory.embedder import DIMENSIONS
from hearth.memory.service import MemoryService
from hearth.store import memories as store
from hearth.store.db import Database
from hearth.store.memories import MemoryRecord, Owner

runner = CliRunner()
LOCAL = Owner("local", "local")
WREN = Owner("local", "wren")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MemoryService:
    """The memory service on the database the commands will open (HEARTH_HOME=tmp_path)."""
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))
    monkeypatch.delenv("HEARTH_DATABASE_URL", raising=False)
    monkeypatch.delenv("HEARTH_USER", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    db = Database.from_settings(Settings())
    db.migrate()
    return MemoryService(db)


def remember(service: MemoryService, owner: Owner, text: str, kind: str = "fact",
             when: str = "2024-01-01") -> MemoryRecord:
    return service.add(owner, text=text, kind=kind,
                       observed_at=datetime.fromisoformat(when).replace(tzinfo=UTC))


def run(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def failed(result: Result) -> str:
    """The command failed with exit code 1 and one line of explanation, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def test_list_shows_the_local_users_memories_newest_first(service: MemoryService) -> None:
    remember(service, LOCAL, "I keep bees", when="2023-01-01")
    remember(service, LOCAL, "I moved to Galway", "event", when="2024-05-01")
    remember(service, WREN, "Wren collects stamps")

    output = ok(run("list"))

    assert output.index("I moved to Galway") < output.index("I keep bees")
    assert "2024-05-01" in output and "event" in output
    assert "Wren collects stamps" not in output


def test_list_with_user_shows_that_users_memories(service: MemoryService) -> None:
    remember(service, LOCAL, "I keep bees")
    remember(service, WREN, "Wren collects stamps")

    output = ok(run("list", "--user", "wren"))

    assert "Wren collects stamps" in output and "I keep bees" not in output
    assert "No memories of 'nobody' yet." in ok(run("list", "--user", "nobody"))


def test_list_all_includes_superseded_memories_and_what_replaced_them(
    service: MemoryService,
) -> None:
    old = remember(service, LOCAL, "I work at the bakery", when="2023-01-01")
    new = remember(service, LOCAL, "I work at the library", when="2024-02-03")
    with service.db.session() as session:
        store.supersede(session, LOCAL, old.id, by=new.id, valid_to=new.observed_at)

    assert "bakery" not in ok(run("list"))
    everything = ok(run("list", "--all"))
    assert "I work at the bakery" in everything
    assert f"2024-02-03 by {new.id}" in everything


def test_search_finds_memories_by_meaning(service: MemoryService) -> None:
    remember(service, LOCAL, "I am allergic to peanuts", "profile")
    remember(service, LOCAL, "My brother plays the cello", "relationship")
    remember(service, WREN, "Wren is allergic to shellfish", "profile")

    output = ok(run("search", "nut allergy", "--limit", "1"))

    assert "I am allergic to peanuts" in output and "cello" not in output
    assert "shellfish" not in ok(run("search", "allergy"))


def test_a_blank_search_is_refused_with_the_way_to_see_everything(
        service: MemoryService) -> None:
    remember(service, LOCAL, "I am allergic to peanuts", "profile")

    output = failed(run("search", "  "))

    assert "hearth memory list" in output and "peanuts" not in output


def test_forget_deletes_one_memory_for_good(service: MemoryService) -> None:
    gone = remember(service, LOCAL, "I dislike coriander")
    kept = remember(service, LOCAL, "I like basil")

    assert f"Forgot memory {gone.id}." in ok(run("forget", str(gone.id)))

    assert [m.id for m in store.list_memories(service.db, LOCAL, include_superseded=True)] == \
        [kept.id]
    assert store.fulltext_search(service.db, LOCAL, "coriander") == []


def test_forget_cannot_reach_another_users_memory(service: MemoryService) -> None:
    theirs = remember(service, WREN, "Wren collects stamps")

    output = failed(run("forget", str(theirs.id)))

    assert f"No memory with id {theirs.id} was found for this user." in output
    assert store.get_memory(service.db, WREN, theirs.id).text == "Wren collects stamps"


def test_forget_needs_an_id_or_all_but_not_both(service: MemoryService) -> None:
    assert "Name one memory id" in failed(run("forget"))
    assert "Name one memory id" in failed(run("forget", "1", "--all"))


def test_forget_all_asks_first_and_keeps_everything_when_the_answer_is_no(
    service: MemoryService,
) -> None:
    remember(service, LOCAL, "I keep bees")

    answered_no = run("forget", "--all", input="n\n")

    assert answered_no.exit_code == 1 and "cannot be undone" in answered_no.output
    assert store.count_memories(service.db, LOCAL) == 1


def test_forget_all_with_yes_forgets_only_that_user(service: MemoryService) -> None:
    remember(service, LOCAL, "I keep bees")
    remember(service, LOCAL, "I moved to Galway")
    remember(service, WREN, "Wren collects stamps")

    assert "Forgot 2 memories of 'local'." in ok(run("forget", "--all", "--yes"))

    assert store.count_memories(service.db, LOCAL) == 0
    assert store.count_memories(service.db, WREN) == 1


def test_an_export_file_imports_into_another_user_once(service: MemoryService,
                                                       tmp_path: Path) -> None:
    remember(service, LOCAL, "I keep bees", "profile", when="2020-04-04")
    pinned = remember(service, LOCAL, "Call me Sunny", "instruction")
    service.edit(LOCAL, pinned.id, pinned=True)
    file = tmp_path / "memories.json"

    assert "Exported 2 memories of 'local'" in ok(run("export", "-o", str(file)))
    assert "Imported 2 memories for 'wren' (0 already there)." in \
        ok(run("import", str(file), "--user", "wren"))
    assert "Imported 0 memories for 'wren' (2 already there)." in \
        ok(run("import", str(file), "--user", "wren"))

    copied = {m.text: m for m in store.list_memories(service.db, WREN)}
    assert set(copied) == {"I keep bees", "Call me Sunny"}
    assert copied["Call me Sunny"].pinned and copied["Call me Sunny"].kind == "instruction"
    assert copied["I keep bees"].observed_at == datetime(2020, 4, 4, tzinfo=UTC)


def test_export_without_a_file_writes_the_json_document_to_stdout(service: MemoryService) -> None:
    remember(service, LOCAL, "I keep bees")

    document = json.loads(ok(run("export")))

    assert document["version"] == 1
    assert [m["text"] for m in document["memories"]] == ["I keep bees"]


def test_import_of_a_file_that_is_not_an_export_fails_in_one_line(
    service: MemoryService, tmp_path: Path,
) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"version": 1, "memories": []}))

    assert "is not a hearth memory export" in failed(run("import", str(wrong)))
    assert "Cannot read" in failed(run("import", str(tmp_path / "missing.json")))
    assert store.count_memories(service.db, LOCAL) == 0


def test_reembed_gives_every_users_memories_this_embedders_vectors(
        service: MemoryService) -> None:
    # Stored as by an older model: vectors unrelated to the texts (and one with its date in).
    rng = np.random.default_rng(3)
    stored = []
    for owner, text in [(LOCAL, "I keep bees"), (LOCAL, "I moved to Galway yesterday (7 May "
                                                         "2023)."), (WREN, "Wren collects stamps")]:
        made_up = rng.standard_normal(DIMENSIONS).astype(np.float32)
        stored.append(store.add_memory(service.db, owner, kind="fact", text=text,
                                       embedding=made_up / np.linalg.norm(made_up),
                                       observed_at=datetime(2024, 1, 1, tzinfo=UTC)))
    rows = [store.get_memory(service.db, Owner(m.org_id, m.user_id), m.id) for m in stored]

    assert "Embedded 3 memories again." in ok(run("reembed"))

    expected = service.embed_memories([m.text for m in stored])
    with service.db.session() as session:
        for memory, vector in zip(stored, expected, strict=True):
            (now,) = store._search_index(session).vectors_of(session, [memory.id])
            np.testing.assert_array_equal(now, vector)
    for row in rows:  # the rows are as they were, updated_at too
        assert store.get_memory(service.db, Owner(row.org_id, row.user_id), row.id) == row
    np.testing.assert_allclose(store.mean_vector(service.db, LOCAL), expected[:2].mean(axis=0),
                               atol=1e-6)
    np.testing.assert_allclose(store.mean_vector(service.db, WREN), expected[2], atol=1e-6)
    assert "I keep bees" in ok(run("search", "which insects do I keep?"))


def test_memory_is_a_command_group_of_hearth(service: MemoryService) -> None:
    remember(service, LOCAL, "I keep bees")

    result = runner.invoke(hearth, ["memory", "list"])

    assert "I keep bees" in ok(result)


def test_list_prints_whole_rows_when_piped_and_the_api_shape_with_json(
        service: MemoryService) -> None:
    made = remember(service, LOCAL, "I keep bees in a very long hive " * 4)

    piped = ok(run("list")).splitlines()
    assert piped[0].split("\t") == ["id", "kind", "when", "text", "pinned"]
    assert piped[1].split("\t") == [str(made.id), "fact", "2024-01-01", made.text, ""]
    listed = [json.loads(line) for line in ok(run("list", "--json")).splitlines()]
    assert [(m["id"], m["object"], m["text"]) for m in listed] == [
        (made.id, "memory", made.text)]
    assert ok(run("list", "--json", "--user", "nobody")) == ""
