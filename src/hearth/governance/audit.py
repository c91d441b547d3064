"""The audit log: sensitive actions, append-only, each entry hash-chained to the one before.

An entry's hash covers the previous entry's hash, its position and its contents, so editing
or removing any entry breaks the chain from there on. The ``audit_head`` row holds the
newest hash and the length: every append locks it (so entries from several workers chain in
order), and ``verify`` checks the chain ends where the head says, which catches removal of
the newest entries too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tables import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64


def entry_hash(prev_hash: str, position: int, at: datetime, org_id: str | None, actor: str,
               action: str, target: str | None, details: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, position, at.astimezone(UTC).isoformat(), org_id, actor,
                       action, target, details], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def append(session: Session, *, actor: str, action: str, org_id: str | None = None,
           target: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Add an entry in the caller's transaction (so the action and its record commit together)."""
    details = details or {}
    # Locks the head row first: the next writer waits for this transaction to end.
    session.execute(update(AuditHead).where(AuditHead.id == 1)
                    .values(length=AuditHead.length + 1))
    head = session.execute(select(AuditHead.length, AuditHead.hash)
                           .where(AuditHead.id == 1)).one()
    at = datetime.now(UTC)
    digest = entry_hash(head.hash, head.length, at, org_id, actor, action, target, details)
    session.add(AuditEntry(at=at, org_id=org_id, actor=actor, action=action, target=target,
                           details=details, prev_hash=head.hash, hash=digest))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest))


def record(db: Database, **entry: Any) -> None:
    """Append an entry in a transaction of its own."""
    with db.locked_session() as session:
        append(session, **entry)


def record_on_user(db: Database, *, actor: str, action: str, owner: Owner,
                   details: dict[str, Any]) -> None:
    """An action on one user's data (a memory export or deletion): what and whose, never the
    data itself."""
    record(db, actor=actor, action=action, org_id=owner.org_id,
           target=f"{owner.org_id}/{owner.user_id}", details=details)


@dataclass
class Verification:
    length: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(db: Database) -> Verification:
    """Walk the whole chain; report every entry that was edited, removed or reordered."""
    with db.session() as session:
        head = session.execute(select(AuditHead.length, AuditHead.hash)).one()
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    result = Verification(length=len(entries))
    prev = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        if entry.prev_hash != prev:
            result.problems.append(f"entry {entry.id}: does not follow the entry before it "
                                   "(an entry was removed or reordered)")
        expected = entry_hash(entry.prev_hash, position, entry.at, entry.org_id, entry.actor,
                              entry.action, entry.target, entry.details)
        if entry.hash != expected:
            result.problems.append(f"entry {entry.id}: contents changed since it was written")
        prev = entry.hash
    if head.length != len(entries) or head.hash != prev:
        result.problems.append(f"the log has {len(entries)} entries ending in {prev[:12]}…, "
                               f"but {head.length} were written ending in {head.hash[:12]}… "
                               "(entries were removed from the end)")
    return result


def entries(db: Database, *, org_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """Newest first; ``org_id`` narrows to one org's entries."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    with db.session() as session:
        return list(session.scalars(query).all())
