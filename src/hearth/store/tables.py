"""The database tables of conversations, as SQLAlchemy 2 declarative models.

These models describe the schema for queries; the schema itself is created and changed only
by the Alembic migrations in ``hearth/store/migrations`` (keep the two in step; a test
compares them). Every row carries ``org_id`` and ``user_id`` so that one query filter, in
``hearth.store.conversations``, keeps tenants apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints: Alembic's batch mode on SQLite and later migrations on PostgreSQL can only
# drop or alter a constraint they can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no offset and hands back naive values; this type stores UTC and reads UTC,
    so callers never compare naive with aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware (UTC) datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Conversation(Base):
    """A conversation is its owner's: the id a client chose names it only within that owner,
    so two users' "chat" are two conversations and no one can learn or take another's ids."""

    __tablename__ = "conversations"
    __table_args__ = (PrimaryKeyConstraint("org_id", "user_id", "id"),
                      Index(None, "org_id", "user_id", "updated_at"))

    id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64), default="local", server_default="local")
    user_id: Mapped[str] = mapped_column(String(64), default="local", server_default="local")
    title: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Positions are handed out here, not read off the stored messages: a turn takes its
    # answer's position with its message's, before the answer exists.
    next_position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id", "conversation_id", "position"),
        ForeignKeyConstraint(
            ["org_id", "user_id", "conversation_id"],
            ["conversations.org_id", "conversations.user_id", "conversations.id"],
            ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64), default="local", server_default="local")
    user_id: Mapped[str] = mapped_column(String(64), default="local", server_default="local")
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(Text)
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    tool_call_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # An assistant message's: the memories its prompt was given (see hearth.assistant.turn).
    memory_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))


class StoredResponse(Base):
    """A Responses API answer kept (``store``) so that it can be read back, deleted, or continued
    with ``previous_response_id``. ``input_items`` is the whole context it answered (what came
    before it in its chain, then its own input), so a continuation reads one row."""

    __tablename__ = "responses"
    __table_args__ = (Index(None, "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # the response object, as served
    input_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class Memory(Base):
    """A short statement about a user, with when it happened and when it was recorded.

    ``observed_at`` is when the fact happened or was said (event time); ``created_at`` is
    when hearth recorded it. A superseded memory keeps its row with ``valid_to`` set, so the
    history of what was believed stays visible.
    """

    __tablename__ = "memories"
    __table_args__ = (Index(None, "org_id", "user_id", "valid_to"),
                      Index(None, "org_id", "user_id", "observed_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(64))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    importance: Mapped[float] = mapped_column(Float, default=0.5)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded_by: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemorySource(Base):
    """Provenance: a message (or an external reference) a memory was drawn from."""

    __tablename__ = "memory_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    memory_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("memories.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(BigId)
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(128))
    excerpt: Mapped[str | None] = mapped_column(Text)


class MemoryVectorSum(Base):
    """An owner's memory vectors added up (``hearth.store.vector_sums``), kept in step with the
    vector index by every write to it."""

    __tablename__ = "memory_vector_sums"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    total: Mapped[bytes] = mapped_column(LargeBinary)  # float64, one per dimension
    count: Mapped[int] = mapped_column(Integer)


class MemoryVectorRecipe(Base):
    """The one row saying which embedder recipe made the stored memory vectors
    (``hearth.store.vector_recipe``)."""

    __tablename__ = "memory_vector_recipe"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipe: Mapped[str] = mapped_column(String(512))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemoryJob(Base):
    """A persisted unit of memory work, so that a restart loses nothing pending."""

    __tablename__ = "memory_jobs"
    __table_args__ = (Index(None, "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Governance: who may call, how much, and what they did. Names (org and user ids) are the
# same strings that scope conversations and memories above.


class Plan(Base):
    """A tier of service: its limits (per key, user and org) and its admission priority."""

    __tablename__ = "plans"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan: Mapped[str] = mapped_column(String(32), ForeignKey("plans.name"))
    conversation_retention_days: Mapped[int | None] = mapped_column(Integer)
    memory_retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    """A person or service in an org; ``plan`` overrides the org's plan for this user.

    ``password_hash`` (scrypt, see ``governance.passwords``) lets the person sign in to the
    web app without a key, where an admin has set one.
    """

    __tablename__ = "users"

    org_id: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id", ondelete="CASCADE"),
                                        primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    plan: Mapped[str | None] = mapped_column(String(32), ForeignKey("plans.name"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_hash: Mapped[str | None] = mapped_column(String(256))


class ApiKey(Base):
    """An API key, kept only as a salted hash; ``prefix`` finds it and names it on screen."""

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "org_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    salt: Mapped[str] = mapped_column(String(32))
    hash: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser; only the SHA-256 of its random id is kept.

    Opened with a key, it acts with that key's scopes, so revoking the key ends it too;
    opened with a password (``key_id`` NULL), with the scopes of the user's role.
    ``last_seen_at`` gives the idle expiry, ``expires_at`` the absolute one.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (Index(None, "org_id", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UsageCounter(Base):
    """Requests or tokens counted in one time window for one key, user or org.

    Counters live in the database, not in a process, so that limits hold across workers.
    """

    __tablename__ = "usage_counters"

    subject: Mapped[str] = mapped_column(String(160), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class StreamLease(Base):
    """A request in flight; counted for concurrency limits, and expiring if a worker dies."""

    __tablename__ = "stream_leases"
    __table_args__ = (Index(None, "org_id", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UsageRecord(Base):
    """What one request cost: tokens, time and an energy estimate."""

    __tablename__ = "usage_records"
    __table_args__ = (Index(None, "org_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(255))
    route: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[float] = mapped_column(Float)
    energy_joules: Mapped[float] = mapped_column(Float, default=0.0)


class AuditEntry(Base):
    """One sensitive action, hash-chained to the entry before it (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    org_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's newest hash and length: one row, locked by every append, so entries
    from several workers chain in order, and removing the newest entries is detectable."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    length: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class TuneJob(Base):
    """A fine-tuning job (hearth.tune): what to train, and where it stands.

    ``folder`` holds the job's own copy of the training data, its checkpoints and its adapter,
    so a worker that restarts finds everything it needs there. ``status`` follows OpenAI's:
    queued, running, succeeded, failed, cancelled; ``cancel_requested`` is how a request reaches
    the worker, which stops after the step it is on.
    """

    __tablename__ = "tune_jobs"
    __table_args__ = (Index(None, "org_id", "created_at"), Index(None, "status", "created_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))  # the base, as the caller named it
    base_path: Mapped[str] = mapped_column(Text)  # its GGUF file or HF folder
    training_file: Mapped[str] = mapped_column(String(255))  # the caller's file id or name
    folder: Mapped[str] = mapped_column(Text)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    suffix: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int | None] = mapped_column(Integer)
    loss: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    fine_tuned_model: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How many workers took the job; one found running at claim time crashed its worker.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    validation_file: Mapped[str | None] = mapped_column(String(255))  # the caller's file id
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger)
    estimated_finish: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_code: Mapped[str | None] = mapped_column(String(64))  # OpenAI's error.code, .param
    error_param: Mapped[str | None] = mapped_column(String(64))


class TuneJobEvent(Base):
    """One line of a job's log (``/v1/fine_tuning/jobs/{id}/events``): a message, and for a
    training step its figures in ``data``."""

    __tablename__ = "tune_job_events"
    __table_args__ = (Index(None, "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64), ForeignKey("tune_jobs.id",
                                                                ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class StoredFile(Base):
    """An uploaded file (``/v1/files``): its bytes are at ``path`` in the data folder, the row
    says whose they are and what for. Files belong to an org, like the jobs that use them."""

    __tablename__ = "files"
    __table_args__ = (Index(None, "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
