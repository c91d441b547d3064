"""``/v1/memories``: list, search, read, create, edit, pin, forget, export and import memories.

Thin routes: the memory service and the store do the work (in a worker thread: SQLAlchemy
and the embedding model are synchronous) and the store decides whose rows a query sees.
Whose memories a request reaches is decided once, in ``memory_owner``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from hearth.api.auth import memory_reader, memory_writer, reading_owner, writing_owner
from hearth.api.json_body import JSONBodyRoute
from hearth.api.openapi import errors
from hearth.api.memories.protocol import (
    CreateMemory,
    DeletedMemories,
    EditMemory,
    ImportedMemories,
    Kind,
    MemoryExport,
    MemoryList,
    MemoryObject,
    ScoredMemory,
    SearchResults,
    SourceList,
    SourceObject,
)
from hearth.errors import NotFound
from hearth.governance import audit
from hearth.governance.gate import Pass
from hearth.memory.service import MemoryService
from hearth.store import memories as store
from hearth.store import memory_export
from hearth.store.bounds import Count, RowId
from hearth.store.memories import Owner, SourceRef

# 404 on every route: a memory that is not the caller's, or memory turned off on the server.
router = APIRouter(route_class=JSONBodyRoute, responses=errors(404))

# Provenance of a memory a user created through this API rather than in a chat.
STATED_THROUGH_API = SourceRef(ref="api")


def memory_service(request: Request) -> MemoryService:
    service: MemoryService | None = getattr(request.app.state, "memory", None)
    if service is None:
        raise NotFound("Memory is turned off on this server (HEARTH_MEMORY=false); "
                       "restart it without that setting to use /v1/memories.",
                       code="memory_disabled")
    return service


async def _audit(service: MemoryService, admitted: Pass, action: str, owner: Owner,
                 details: dict) -> None:
    """Exports and deletions go on the audit log."""
    await run_in_threadpool(audit.record_on_user, service.db, actor=admitted.principal.actor,
                            action=action, owner=owner, details=details)


Service = Annotated[MemoryService, Depends(memory_service)]
# Whose memories a request reaches: the key's user, or the end user it names (X-Hearth-User)
# where its role allows; reading and changing need different scopes.
Reader = Annotated[Owner, Depends(reading_owner)]
Writer = Annotated[Owner, Depends(writing_owner)]


@router.get("/v1/memories", response_model=MemoryList)
async def list_memories(
    service: Service, owner: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[Count, Query()] = 0,
    kind: Annotated[Kind | None, Query()] = None,
    include_superseded: bool = False,
) -> MemoryList:
    """Newest first (by when it happened); superseded memories only when asked for."""
    records = await run_in_threadpool(
        store.list_memories, service.db, owner, include_superseded=include_superseded,
        kind=kind, limit=limit, offset=offset,
    )
    return MemoryList(data=[MemoryObject.from_record(r) for r in records])


@router.get("/v1/memories/search", response_model=SearchResults)
async def search_memories(
    service: Service, owner: Reader,
    # At least one character that is not a space: a blank query matches nothing.
    q: Annotated[str, Query(min_length=1, max_length=2000, pattern=r"\S")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SearchResults:
    """The same hybrid recall the assistant uses before it answers."""
    hits = await run_in_threadpool(service.recall, owner, q, limit=limit)
    return SearchResults(data=[ScoredMemory.from_hit(hit) for hit in hits])


@router.get("/v1/memories/export", response_model=MemoryExport)
async def export_memories(service: Service, owner: Reader,
                          admitted: Annotated[Pass, Depends(memory_reader)]) -> MemoryExport:
    records = await run_in_threadpool(memory_export.all_memories, service.db, owner)
    await _audit(service, admitted, "memory.export", owner, {"memories": len(records)})
    return MemoryExport.from_records(records)


@router.post("/v1/memories/import", response_model=ImportedMemories)
async def import_memories(body: MemoryExport, service: Service,
                          owner: Writer) -> ImportedMemories:
    """Add an export's memories to this user's (texts are embedded again); repeats are skipped."""
    result = await run_in_threadpool(
        memory_export.import_memories, service.db, owner,
        [m.to_portable() for m in body.memories], service.embed_memories,
    )
    return ImportedMemories(imported=result.imported, skipped=result.skipped)


@router.post("/v1/memories", response_model=MemoryObject, status_code=201)
async def create_memory(body: CreateMemory, service: Service,
                        owner: Writer) -> MemoryObject:
    record = await run_in_threadpool(
        service.add, owner, text=body.text, kind=body.kind,
        observed_at=body.observed_at or datetime.now(UTC), importance=body.importance,
        pinned=body.pinned, sources=[STATED_THROUGH_API],
    )
    return MemoryObject.from_record(record)


@router.delete("/v1/memories", response_model=DeletedMemories)
async def forget_everything(service: Service, owner: Writer,
                            admitted: Annotated[Pass, Depends(memory_writer)]
                            ) -> DeletedMemories:
    """Hard-delete every memory of this user, index entries and provenance included."""
    count = await run_in_threadpool(store.delete_all, service.db, owner)
    await _audit(service, admitted, "memory.delete_all", owner, {"memories": count})
    return DeletedMemories(deleted=count)


@router.get("/v1/memories/{memory_id}", response_model=MemoryObject)
async def get_memory(memory_id: RowId, service: Service, owner: Reader) -> MemoryObject:
    record = await run_in_threadpool(store.get_memory, service.db, owner, memory_id)
    return MemoryObject.from_record(record)


@router.get("/v1/memories/{memory_id}/sources", response_model=SourceList)
async def memory_sources(memory_id: RowId, service: Service, owner: Reader) -> SourceList:
    """Why hearth knows this: the messages (or references) the memory was drawn from."""
    record = await run_in_threadpool(store.get_memory, service.db, owner, memory_id)
    return SourceList(memory_id=record.id,
                      data=[SourceObject.from_ref(s) for s in record.sources])


@router.patch("/v1/memories/{memory_id}", response_model=MemoryObject)
async def edit_memory(memory_id: RowId, body: EditMemory, service: Service,
                      owner: Writer) -> MemoryObject:
    record = await run_in_threadpool(service.edit, owner, memory_id,
                                     **body.model_dump(exclude_none=True))
    return MemoryObject.from_record(record)


@router.post("/v1/memories/{memory_id}/pin", response_model=MemoryObject)
async def pin_memory(memory_id: RowId, service: Service, owner: Writer) -> MemoryObject:
    """Pinned memories come first in what the assistant is told about the user."""
    record = await run_in_threadpool(service.edit, owner, memory_id, pinned=True)
    return MemoryObject.from_record(record)


@router.post("/v1/memories/{memory_id}/unpin", response_model=MemoryObject)
async def unpin_memory(memory_id: RowId, service: Service, owner: Writer) -> MemoryObject:
    record = await run_in_threadpool(service.edit, owner, memory_id, pinned=False)
    return MemoryObject.from_record(record)


@router.delete("/v1/memories/{memory_id}", status_code=204)
async def forget_memory(memory_id: RowId, service: Service, owner: Writer,
                        admitted: Annotated[Pass, Depends(memory_writer)]) -> Response:
    """Hard delete: the row, its provenance and its full-text and vector index entries."""
    await run_in_threadpool(store.delete_memory, service.db, owner, memory_id)
    await _audit(service, admitted, "memory.delete", owner, {"memory_id": memory_id})
    return Response(status_code=204)
