"""Schemas of ``/v1/files``, in OpenAI's shapes (``file``, a cursor ``list``, a deletion)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from hearth.store.files import FileRecord
from hearth.tune.files import PURPOSES

Purpose = Literal[PURPOSES]  # type: ignore[valid-type]

# How the upload's body is documented: FastAPI documents forms only through python-multipart,
# which hearth does without (see multipart.py).
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "purpose"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "JSONL: one {\"messages\": [...]} chat example per line."},
        "purpose": {"type": "string", "enum": list(PURPOSES)},
    }}}}}


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: Purpose
    # Checked on upload: a kept file is processed; a bad one is refused, never kept.
    status: Literal["processed"] = "processed"
    expires_at: int | None = None

    @classmethod
    def from_record(cls, record: FileRecord) -> FileObject:
        return cls(id=record.id, bytes=record.bytes, filename=record.filename,
                   created_at=int(record.created_at.timestamp()), purpose=record.purpose)


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool
    first_id: str | None
    last_id: str | None

    @classmethod
    def of(cls, records: list[FileRecord], has_more: bool) -> FileList:
        return cls(data=[FileObject.from_record(record) for record in records],
                   has_more=has_more, first_id=records[0].id if records else None,
                   last_id=records[-1].id if records else None)


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True
