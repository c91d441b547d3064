"""Uploaded files (``/v1/files``): a row per file, its bytes in the data folder.

Files belong to an org, like the fine-tuning jobs they feed: every caller-facing read and
delete goes through ``_in_org``, so another org's file behaves as one that does not exist.
The bytes are moved into place before the row is written and removed after it is deleted,
so a row never names bytes that are missing (a crash can at worst leave unnamed bytes).
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

from hearth.errors import NotFound
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.paging import ordered_after, page
from hearth.store.tables import StoredFile, utcnow


@dataclass(frozen=True)
class FileRecord:
    id: str
    org_id: str
    user_id: str
    filename: str
    purpose: str
    bytes: int
    path: str
    created_at: datetime


def new_file_id() -> str:
    """A fresh file id, in OpenAI's shape (``file-…``)."""
    return f"file-{secrets.token_hex(12)}"


def _record(row: StoredFile) -> FileRecord:
    return FileRecord(**{name: getattr(row, name) for name in FileRecord.__dataclass_fields__})


def _in_org(statement: Select[Any], org_id: str) -> Select[Any]:
    """Narrow a query to one org. Every caller-facing query in this module goes through here."""
    return statement.where(StoredFile.org_id == org_id)


def _not_found(file_id: str) -> NotFound:
    return NotFound(f"No file {file_id!r} was found in this organisation.", param="file_id",
                    code="file_not_found")


def save_file(db: Database, owner: Owner, *, source: Path, filename: str,
              purpose: str) -> FileRecord:
    """Keep the bytes at ``source`` (moved, not copied: it must be in the files folder, where
    the upload was received) as a new file of ``owner``'s org."""
    file_id = new_file_id()
    target = Path(source).with_name(file_id)
    os.replace(source, target)
    try:
        with db.session() as session:
            row = StoredFile(id=file_id, org_id=owner.org_id, user_id=owner.user_id,
                             filename=filename[:255], purpose=purpose,
                             bytes=target.stat().st_size, path=str(target), created_at=utcnow())
            session.add(row)
            session.flush()
            return _record(row)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def get_file(db: Database, org_id: str, file_id: str) -> FileRecord:
    """The org's file; ``NotFound`` if the org has none with this id."""
    with db.session() as session:
        row = session.scalars(_in_org(select(StoredFile), org_id)
                              .where(StoredFile.id == file_id)).one_or_none()
        if row is None:
            raise _not_found(file_id)
        return _record(row)


def list_files(db: Database, org_id: str, *, purpose: str | None = None, limit: int = 100,
               after: str | None = None, newest_first: bool = True
               ) -> tuple[list[FileRecord], bool]:
    """A page of the org's files, and whether more follow; ``after`` is a file id."""
    cursor = None
    if after is not None:
        last = get_file(db, org_id, after)
        cursor = (last.created_at, last.id)
    statement = _in_org(select(StoredFile), org_id)
    if purpose is not None:
        statement = statement.where(StoredFile.purpose == purpose)
    statement = ordered_after(statement, StoredFile.created_at, StoredFile.id, cursor,
                              newest_first).limit(limit + 1)
    with db.session() as session:
        records = [_record(row) for row in session.scalars(statement)]
    return page(records, limit)


def delete_file(db: Database, org_id: str, file_id: str) -> FileRecord:
    """Delete the org's file, row and bytes; ``NotFound`` if the org has none with this id."""
    with db.session() as session:
        row = session.scalars(_in_org(select(StoredFile), org_id)
                              .where(StoredFile.id == file_id)).one_or_none()
        if row is None:
            raise _not_found(file_id)
        record = _record(row)
        session.delete(row)
    Path(record.path).unlink(missing_ok=True)
    return record


def delete_created_before(db: Database, org_id: str, cutoff: datetime) -> int:
    """Retention: delete an org's files uploaded before ``cutoff``, rows and bytes; returns
    how many."""
    with db.session() as session:
        rows = session.scalars(_in_org(select(StoredFile), org_id)
                               .where(StoredFile.created_at < cutoff)).all()
        paths = [row.path for row in rows]
        for row in rows:
            session.delete(row)
    for path in paths:
        with suppress(OSError):
            Path(path).unlink(missing_ok=True)
    return len(paths)
