"""Stored Responses API answers: kept, read back, continued, deleted, and purged.

Every read and write is narrowed to one owner by ``_owned``, so a response that belongs to
another org or user behaves exactly like one that does not exist. A response is saved once,
whole, when its answer is done (or has failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Select, delete, select

from hearth.errors import NotFound
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tables import StoredResponse, utcnow


@dataclass(frozen=True)
class ResponseRecord:
    id: str
    body: dict[str, Any]
    input_items: list[dict[str, Any]]
    created_at: datetime


def _owned(statement: Select[Any] | Delete, owner: Owner) -> Any:
    """Narrow a query to one owner. Every read and delete in this module goes through here."""
    return statement.where(StoredResponse.org_id == owner.org_id,
                           StoredResponse.user_id == owner.user_id)


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"No response with id {response_id!r} was found for this user; only "
                    "responses created with store left true are kept.",
                    param="response_id", code="response_not_found")


def save_response(db: Database, owner: Owner, body: dict[str, Any],
                  input_items: list[dict[str, Any]]) -> None:
    """Store a response object under its id, with the input items it answered."""
    with db.session() as session:
        session.add(StoredResponse(id=body["id"], org_id=owner.org_id, user_id=owner.user_id,
                                   created_at=utcnow(), body=body, input_items=input_items))


def get_response(db: Database, owner: Owner, response_id: str) -> ResponseRecord:
    """The owner's stored response; ``NotFound`` if they have none with this id."""
    with db.session() as session:
        row = session.scalars(_owned(select(StoredResponse), owner)
                              .where(StoredResponse.id == response_id)).one_or_none()
        if row is None:
            raise _not_found(response_id)
        return ResponseRecord(row.id, row.body, row.input_items, row.created_at)


def delete_response(db: Database, owner: Owner, response_id: str) -> None:
    """Forget a stored response for good; ``NotFound`` if the owner has none with this id."""
    with db.session() as session:
        gone = session.execute(_owned(delete(StoredResponse), owner)
                               .where(StoredResponse.id == response_id)).rowcount
    if not gone:
        raise _not_found(response_id)


def delete_created_before(db: Database, org_id: str, cutoff: datetime) -> int:
    """Retention: delete an org's responses created before ``cutoff``; returns how many."""
    with db.session() as session:
        return session.execute(delete(StoredResponse).where(
            StoredResponse.org_id == org_id, StoredResponse.created_at < cutoff)).rowcount or 0
