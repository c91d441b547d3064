"""Stored Responses API answers, on each database backend: kept per owner and deleted for
good."""

from __future__ import annotations

import pytest

from hearth.errors import NotFound
from hearth.store import responses
from hearth.store.db import Database
from hearth.store.owner import Owner

ALICE = Owner("acme", "alice")
INPUT = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]


def test_a_saved_response_reads_back_with_its_input(db: Database) -> None:
    responses.save_response(db, ALICE, {"id": "resp_1", "status": "completed"}, INPUT)

    stored = responses.get_response(db, ALICE, "resp_1")

    assert (stored.body, stored.input_items) == ({"id": "resp_1", "status": "completed"}, INPUT)
    assert stored.created_at.tzinfo is not None


@pytest.mark.parametrize("other", [Owner("acme", "bob"), Owner("globex", "alice")])
def test_another_user_or_org_can_neither_read_nor_delete_it(db: Database, other: Owner) -> None:
    responses.save_response(db, ALICE, {"id": "resp_1"}, INPUT)

    with pytest.raises(NotFound):
        responses.get_response(db, other, "resp_1")
    with pytest.raises(NotFound):
        responses.delete_response(db, other, "resp_1")
    assert responses.get_response(db, ALICE, "resp_1").id == "resp_1"


def test_a_deleted_response_is_gone(db: Database) -> None:
    responses.save_response(db, ALICE, {"id": "resp_1"}, INPUT)

    responses.delete_response(db, ALICE, "resp_1")

    with pytest.raises(NotFound):
        responses.get_response(db, ALICE, "resp_1")
    with pytest.raises(NotFound):
        responses.delete_response(db, ALICE, "resp_1")
