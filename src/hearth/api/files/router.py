"""``/v1/files``: upload a training file (checked line by line), list, read, download, delete.

Thin routes: ``hearth.tune.files`` checks and keeps an upload, ``hearth.store.files`` decides
whose files a request sees (its org's: another org's file is a 404). Uploads and deletions go
on the audit log. The upload is a form, not JSON, so this router keeps FastAPI's own route
class rather than ``JSONBodyRoute``.
"""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from hearth.api.audited import record_action
from hearth.api.auth import chat_key, fine_tuner, fine_tuning_editor
from hearth.api.files.multipart import parse_form
from hearth.api.files.protocol import UPLOAD_BODY, FileDeleted, FileList, FileObject, Purpose
from hearth.api.openapi import errors
from hearth.errors import InvalidRequest
from hearth.governance.gate import Pass
from hearth.store import files as store
from hearth.store.db import Database
from hearth.tune.files import files_folder, upload

router = APIRouter(responses=errors(404))

Reader = Annotated[Pass, Depends(chat_key)]
FileId = Annotated[str, Path(max_length=64)]


def _db(request: Request) -> Database:
    return request.app.state.db


@router.post("/v1/files", response_model=FileObject, openapi_extra={"requestBody": UPLOAD_BODY})
async def create_file(request: Request,
                      admitted: Annotated[Pass, Depends(fine_tuner)]) -> FileObject:
    """Upload a JSONL training file; a bad one is refused with its problems' line numbers."""
    form = parse_form(request.headers.get("content-type"), await request.body())
    uploaded = form.files.get("file")
    if uploaded is None:
        raise InvalidRequest("The form has no 'file' part: send the training file as 'file'.",
                             param="file")
    purpose = form.fields.get("purpose")
    if purpose is None:
        raise InvalidRequest("The form has no 'purpose' field: send purpose=fine-tune.",
                             param="purpose")
    owner = admitted.principal.owner_for(None)
    record = await run_in_threadpool(
        upload, _db(request), owner, folder=files_folder(request.app.state.settings.home),
        filename=uploaded.filename, purpose=purpose, stream=io.BytesIO(uploaded.content))
    await record_action(request, admitted, "file.upload", record.id,
                 {"filename": record.filename, "bytes": record.bytes, "purpose": purpose})
    return FileObject.from_record(record)


@router.get("/v1/files", response_model=FileList)
async def list_files(
    request: Request, admitted: Reader,
    purpose: Annotated[Purpose | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> FileList:
    """The org's files, newest first by default; ``after`` is the previous page's last id."""
    records, more = await run_in_threadpool(
        store.list_files, _db(request), admitted.principal.org_id, purpose=purpose,
        limit=limit, after=after, newest_first=order == "desc")
    return FileList.of(records, more)


@router.get("/v1/files/{file_id}", response_model=FileObject)
async def get_file(request: Request, file_id: FileId, admitted: Reader) -> FileObject:
    record = await run_in_threadpool(store.get_file, _db(request), admitted.principal.org_id,
                                     file_id)
    return FileObject.from_record(record)


@router.get("/v1/files/{file_id}/content", response_class=FileResponse, responses={
    200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                              "format": "binary"}}},
          "description": "The file's bytes, as uploaded."}})
async def file_content(request: Request, file_id: FileId, admitted: Reader) -> FileResponse:
    record = await run_in_threadpool(store.get_file, _db(request), admitted.principal.org_id,
                                     file_id)
    return FileResponse(record.path, media_type="application/octet-stream")


@router.delete("/v1/files/{file_id}", response_model=FileDeleted)
async def delete_file(request: Request, file_id: FileId,
                      admitted: Annotated[Pass, Depends(fine_tuning_editor)]) -> FileDeleted:
    """Delete the file and its bytes; jobs already made from it keep their own copy."""
    record = await run_in_threadpool(store.delete_file, _db(request),
                                     admitted.principal.org_id, file_id)
    await record_action(request, admitted, "file.delete", record.id, {"filename": record.filename})
    return FileDeleted(id=record.id)
