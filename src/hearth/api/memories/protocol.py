"""Schemas of ``/v1/memories``: the memory object, its edits, and the export document.

The export document is also the file ``hearth memory export`` writes and ``hearth memory
import`` reads, so HTTP and the CLI share one format.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from hearth.memory.recall import RecalledMemory
from hearth.store.bounds import RowId
from hearth.store.memories import KINDS, MemoryRecord, SourceRef
from hearth.store.memory_export import PortableMemory

MAX_TEXT_CHARS = 4000
EXPORT_VERSION = 1


def _known_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return kind


def _utc(when: datetime) -> datetime:
    """A time without an offset is read as UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


Kind = Annotated[str, AfterValidator(_known_kind),
                 WithJsonSchema({"type": "string", "enum": list(KINDS)})]
When = Annotated[datetime, AfterValidator(_utc)]
MemoryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=MAX_TEXT_CHARS)]
Importance = Annotated[float, Field(ge=0.0, le=1.0)]


class SourceObject(BaseModel):
    """Where a memory came from: a stored message, an outside reference, or both."""

    object: Literal["memory.source"] = "memory.source"
    message_id: RowId | None = None
    conversation_id: str | None = Field(None, max_length=64)
    ref: str | None = Field(None, max_length=128)
    excerpt: str | None = None

    @classmethod
    def from_ref(cls, source: SourceRef) -> SourceObject:
        return cls(message_id=source.message_id, conversation_id=source.conversation_id,
                   ref=source.ref, excerpt=source.excerpt)

    def to_ref(self) -> SourceRef:
        return SourceRef(self.message_id, self.conversation_id, self.ref, self.excerpt)


class MemoryObject(BaseModel):
    id: int
    object: Literal["memory"] = "memory"
    kind: str
    text: str
    observed_at: datetime  # when it happened or was said
    recorded_at: datetime  # when hearth stored it
    valid_from: datetime | None
    valid_to: datetime | None  # set once a newer memory superseded this one
    importance: float
    pinned: bool
    superseded_by: int | None

    @classmethod
    def from_record(cls, record: MemoryRecord) -> MemoryObject:
        return cls(id=record.id, kind=record.kind, text=record.text,
                   observed_at=record.observed_at, recorded_at=record.created_at,
                   valid_from=record.valid_from, valid_to=record.valid_to,
                   importance=record.importance, pinned=record.pinned,
                   superseded_by=record.superseded_by)


class MemoryList(BaseModel):
    object: Literal["list"] = "list"
    data: list[MemoryObject]


class ScoredMemory(MemoryObject):
    score: float  # higher is a better match; comparable within one search only

    @classmethod
    def from_hit(cls, hit: RecalledMemory) -> ScoredMemory:
        return cls(**MemoryObject.from_record(hit.memory).model_dump(), score=hit.score)


class SearchResults(BaseModel):
    object: Literal["list"] = "list"
    data: list[ScoredMemory]


class SourceList(BaseModel):
    """The answer to "why do you know this?"."""

    object: Literal["list"] = "list"
    memory_id: int
    data: list[SourceObject]


class CreateMemory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: MemoryText
    kind: Kind
    observed_at: When | None = None  # default: now
    importance: Importance = 0.5
    pinned: bool = False


class EditMemory(BaseModel):
    """Only the fields given change; new text is embedded and indexed again."""

    model_config = ConfigDict(extra="forbid")

    text: MemoryText | None = None
    kind: Kind | None = None
    importance: Importance | None = None
    pinned: bool | None = None


class DeletedMemories(BaseModel):
    object: Literal["memory.deleted"] = "memory.deleted"
    deleted: int


class ExportedMemory(BaseModel):
    id: int | None = None  # only links ``superseded_by`` inside one document
    kind: Kind
    text: MemoryText
    subject: str | None = Field(None, max_length=64)
    observed_at: When
    recorded_at: When | None = None
    valid_from: When | None = None
    valid_to: When | None = None
    importance: Importance = 0.5
    pinned: bool = False
    superseded_by: int | None = None
    sources: list[SourceObject] = []

    @classmethod
    def from_record(cls, record: MemoryRecord) -> ExportedMemory:
        return cls(id=record.id, kind=record.kind, text=record.text, subject=record.subject,
                   observed_at=record.observed_at, recorded_at=record.created_at,
                   valid_from=record.valid_from, valid_to=record.valid_to,
                   importance=record.importance, pinned=record.pinned,
                   superseded_by=record.superseded_by,
                   sources=[SourceObject.from_ref(s) for s in record.sources])

    def to_portable(self) -> PortableMemory:
        return PortableMemory(
            id=self.id, kind=self.kind, text=self.text, observed_at=self.observed_at,
            subject=self.subject, valid_from=self.valid_from, valid_to=self.valid_to,
            importance=self.importance, pinned=self.pinned, superseded_by=self.superseded_by,
            sources=tuple(s.to_ref() for s in self.sources))


class MemoryExport(BaseModel):
    """Everything remembered about one user, history and provenance included."""

    version: Literal[1] = EXPORT_VERSION
    exported_at: When
    memories: list[ExportedMemory]

    @classmethod
    def from_records(cls, records: list[MemoryRecord]) -> MemoryExport:
        return cls(exported_at=datetime.now(UTC),
                   memories=[ExportedMemory.from_record(r) for r in records])


class ImportedMemories(BaseModel):
    object: Literal["memory.import"] = "memory.import"
    imported: int
    skipped: int  # already remembered (same kind, text and time)
