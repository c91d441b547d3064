"""The memory write path (extract, consolidate, queue) and read path (hybrid, time, budget)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.api.memories.protocol import MemoryExport
from hearth.memory.recall import approx_tokens, render_memories
from hearth.memory.service import MemoryService
from hearth.memory.worker import MemoryWorker, job_payload
from hearth.store import memories as store
from hearth.store import memory_export, memory_jobs
from hearth.store.db import Database
from hearth.store.memories import Owner, SourceRef

ANNA = Owner("acme", "anna")
MAY = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)
JUNE = datetime(2023, 6, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(db: Database) -> MemoryService:
    return MemoryService(db)


def say(service: MemoryService, text: str, when: datetime, ref: str) -> list:
    return service.remember(ANNA, text, speaker="Anna", said_at=when,
                            source=SourceRef(ref=ref, excerpt=text))


def test_a_repeated_fact_adds_provenance_and_never_deletes_itself(service, db) -> None:
    say(service, "I love green tea with honey.", MAY, "m1")
    outcomes = say(service, "I love green tea with honey.", JUNE, "m2")
    assert [o.action for o in outcomes] == ["duplicate"]
    [memory] = store.list_memories(db, ANNA)
    assert "green tea" in memory.text
    assert {s.ref for s in memory.sources} == {"m1", "m2"}


def test_a_contradiction_supersedes_the_old_fact_and_keeps_its_history(service, db) -> None:
    say(service, "I live in Berlin.", MAY, "m1")
    [outcome] = say(service, "I moved to Lisbon last week.", JUNE, "m2")
    assert outcome.action == "superseded"
    current = store.list_memories(db, ANNA)
    assert [m.text for m in current if m.subject == "lives_in"] == [outcome.memory.text]
    history = store.list_memories(db, ANNA, include_superseded=True)
    old = next(m for m in history if "Berlin" in m.text)
    assert old.valid_to is not None and old.superseded_by == outcome.memory.id


def test_a_bare_answer_cites_the_question_it_answers(service, db) -> None:
    [outcome] = service.remember(
        ANNA, "Yes, last Friday!", speaker="Anna", said_at=MAY,
        source=SourceRef(ref="answer"), previous="Did you finish the Oslo marathon?",
        previous_source=SourceRef(ref="question"))
    assert "Oslo marathon" in outcome.memory.text
    assert {s.ref for s in outcome.memory.sources} == {"answer", "question"}


def test_chit_chat_is_not_remembered(service, db) -> None:
    assert say(service, "haha thanks, that's great!", MAY, "m1") == []
    assert store.list_memories(db, ANNA) == []


def test_relative_dates_become_when_it_happened(service, db) -> None:
    [outcome] = say(service, "I ran my first marathon yesterday.", MAY, "m1")
    assert outcome.memory.observed_at.date() == datetime(2023, 5, 7).date()
    assert outcome.memory.created_at > outcome.memory.observed_at


def test_a_memory_is_embedded_as_said_and_keeps_that_vector_through_export(service, db) -> None:
    [outcome] = say(service, "I ran my first marathon yesterday.", MAY, "m1")
    assert outcome.memory.text == "Anna ran Anna's first marathon yesterday (7 May 2023)."
    as_said = service.embedder.embed_one("Anna ran Anna's first marathon yesterday.")
    dated = service.embedder.embed_one(outcome.memory.text)
    [(_, similarity)] = store.vector_search(db, ANNA, as_said, limit=1)
    assert similarity > 0.9999 > float(as_said @ dated)

    bob = Owner("acme", "bob")
    document = MemoryExport.from_records(memory_export.all_memories(db, ANNA))
    memory_export.import_memories(db, bob, [m.to_portable() for m in document.memories],
                                  service.embed_memories)
    [(_, similarity)] = store.vector_search(db, bob, as_said, limit=1)
    assert similarity > 0.9999


def test_recall_finds_by_words_and_by_meaning(service) -> None:
    say(service, "My sister Clara is a veterinarian in Lyon.", MAY, "m1")
    say(service, "I adopted a grey kitten called Pixel.", MAY, "m2")
    say(service, "I started learning the cello this spring.", MAY, "m3")
    by_words = service.recall(ANNA, "What is Clara's job?", now=JUNE, limit=1)
    assert "veterinarian" in by_words[0].memory.text
    by_meaning = service.recall(ANNA, "Which musical instrument does she play?", now=JUNE, limit=1)
    assert "cello" in by_meaning[0].memory.text


def test_a_question_about_a_time_prefers_what_happened_then(service) -> None:
    say(service, "I went hiking in the Alps.", datetime(2023, 3, 10, tzinfo=UTC), "march")
    say(service, "I went hiking in the Pyrenees.", datetime(2023, 5, 12, tzinfo=UTC), "may")
    [first, *_] = service.recall(ANNA, "Where did I go hiking in May 2023?", now=JUNE)
    assert "Pyrenees" in first.memory.text


def test_recall_fits_the_token_budget(service) -> None:
    for i in range(12):
        say(service, f"I visited museum number {i} and loved its paintings of the sea.", MAY, f"m{i}")
    hits = service.recall(ANNA, "Which museums did I visit?", now=JUNE, limit=50, token_budget=60)
    assert hits
    assert len(hits) < 12
    assert approx_tokens(render_memories([h.memory for h in hits])) <= 60


def test_queued_work_survives_a_restart(db: Database, service: MemoryService) -> None:
    memory_jobs.enqueue_job(db, ANNA, job_payload(text="My favourite colour is teal.", speaker="Anna",
                                            said_at=MAY, message_id=None, conversation_id=None,
                                            previous=None))
    assert memory_jobs.count_pending_jobs(db) == 1  # nothing processed it: the "crash"
    worker = MemoryWorker(MemoryService(db, service.embedder))
    worker.start()
    try:
        assert worker.wait_idle(timeout=60)
    finally:
        worker.stop()
    assert memory_jobs.count_pending_jobs(db) == 0
    assert any("teal" in m.text for m in store.list_memories(db, ANNA))


def test_each_queued_job_is_claimed_once_and_a_dead_workers_claim_expires(db: Database) -> None:
    """Several server workers poll one queue: a job goes to one of them, and comes back
    if that worker dies before finishing it."""
    from datetime import timedelta

    from sqlalchemy import update

    from hearth.store.tables import MemoryJob

    owner = Owner("acme", "ann")
    ids = [memory_jobs.enqueue_job(db, owner, {"text": f"fact {i}"}) for i in range(3)]

    first = memory_jobs.claim_jobs(db, limit=2)
    second = memory_jobs.claim_jobs(db, limit=2)

    assert [j.id for j in first] == ids[:2] and [j.id for j in second] == ids[2:]
    assert memory_jobs.claim_jobs(db) == []
    assert memory_jobs.count_pending_jobs(db) == 3
    with db.session() as session:  # the first worker died long ago, mid-job
        session.execute(update(MemoryJob).where(MemoryJob.id.in_(ids[:2])).values(
            updated_at=datetime.now(UTC) - memory_jobs.JOB_LEASE - timedelta(seconds=1)))
    assert [j.id for j in memory_jobs.claim_jobs(db)] == ids[:2]
    memory_jobs.finish_job(db, ids[0])
    memory_jobs.finish_job(db, ids[1], error="boom")
    assert [j.id for j in memory_jobs.claim_jobs(db)] == [ids[1]]  # a failed job is retried
