"""The database: one SQLAlchemy engine, its sessions, and its Alembic migrations.

SQLite (the default, one file under ``HEARTH_HOME``) runs in WAL mode with
``synchronous=FULL``, so a commit is on disk before the call returns: a server killed with
``kill -9`` (or a power cut) loses no message it acknowledged. The same code and the same
migrations serve PostgreSQL through a ``postgresql+psycopg://`` URL; the server needs the
pgvector extension (``hearth.store.search_postgres`` says how memories are searched there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pysqlite3.dbapi2 as sqlite_driver
import sqlite_vec
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from hearth.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Per process, for PostgreSQL: the API runs sessions in a thread pool (40 threads), but a
# session is short, so a few connections serve it; a burst waits for one (up to 30 s) rather
# than opening more. Several workers share the server's max_connections (100 by default).
SERVER_POOL_SIZE = 10
SERVER_POOL_OVERFLOW = 10


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, synchronous: str = "FULL") -> None:
    # Per connection, because SQLite forgets all but journal_mode when a connection closes.
    dbapi_connection.enable_load_extension(True)
    sqlite_vec.load(dbapi_connection)  # the vector index of memories
    dbapi_connection.enable_load_extension(False)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")  # in-memory databases answer "memory": fine
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Forgetting must not leave the words in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _relaxed_sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record, synchronous="NORMAL")


def _server_engine(url: str) -> Engine:
    # A pooled connection can be dropped by the server's restart or an idle timeout; checking
    # it before use turns that into a reconnect instead of a failed request.
    return create_engine(url, pool_size=SERVER_POOL_SIZE, max_overflow=SERVER_POOL_OVERFLOW,
                         pool_pre_ping=True)


def _sqlite_engine(url: str, relaxed: bool = False) -> Engine:
    parsed = make_url(url)
    path = parsed.database or ""
    in_memory = path in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if not in_memory and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # Sessions run in a thread pool (the API) as well as the main thread (the CLI).
    # pysqlite3 bundles a current SQLite that can load extensions (sqlite-vec); the
    # interpreter's own sqlite3 module may be built without that.
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False},
                               "module": sqlite_driver}
    if in_memory:
        # Otherwise each thread would see its own, empty, in-memory database.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _relaxed_sqlite_pragmas if relaxed else _sqlite_pragmas)
    return engine


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return _server_engine(url)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code, so migrations run from an installed package."""
    config = Config()
    # ConfigParser would read a "%" in the path as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class LockBusy(Exception):
    """Another connection holds SQLite's write lock right now."""


def begin_immediate_now(driver: Any) -> None:
    """``BEGIN IMMEDIATE`` on a connection whose busy timeout is 0: ``LockBusy`` if taken."""
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite_driver.OperationalError as exc:
        raise LockBusy(str(exc)) from None


class Database:
    """A database URL made usable: engine, transactional sessions, migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        # Objects stay readable after commit; the store hands out plain views anyway.
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite = self.engine.dialect.name == "sqlite"
        # Meters (rate counters, usage records) commit on every request. On SQLite they use
        # their own connections with synchronous=NORMAL: in WAL mode a commit then survives a
        # killed process, though not a power cut, and costs about a seventh of a FULL one.
        relaxed = (_sqlite_engine(url, relaxed=True)
                   if self._sqlite and self.engine.pool.__class__ is not StaticPool
                   else self.engine)
        self._relaxed_engine = relaxed
        self._relaxed_sessions = sessionmaker(relaxed, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.resolved_database_url)

    def migrate(self) -> None:
        """Bring the schema to the newest migration; safe to call on every start.

        All pending migrations run in one transaction. SQLite's driver only begins one before
        rows are written, not before CREATE or DROP, so here it is begun by hand: otherwise a
        migration that fails half-way (a full disk, say) would leave a dropped table dropped.
        """
        with self.engine.begin() as connection:
            if self._sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            command.upgrade(alembic_config(connection), "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def locked_session(self, *, relaxed: bool = False) -> Iterator[Session]:
        """A session that holds the write lock from its first statement.

        For read-check-write work (the audit chain, claiming jobs, consolidating memories)
        that must not interleave with another worker's: SQLite takes its one write lock at
        once (``BEGIN IMMEDIATE``) instead of failing on upgrade; PostgreSQL callers lock the
        rows they read. With ``relaxed``, as for ``locked_connection``, the commit survives a
        killed process but may be lost to a power cut.
        """
        with (self._relaxed_sessions if relaxed else self._sessions)() as session, \
                session.begin():
            self._take_write_lock(session.connection(), relaxed=relaxed)
            yield session

    def dedicated_connection(self, *, relaxed: bool = False) -> Any:
        """A pooled connection taken out for good, as the driver's own connection object.

        For a component that runs its own short transactions back to back (the request
        gate): it skips the checkout, reset and transaction bookkeeping of every use.
        Close it with ``close()``.
        """
        return (self._relaxed_engine if relaxed else self.engine).raw_connection()

    @contextmanager
    def locked_connection(self, *, relaxed: bool = False) -> Iterator[Connection]:
        """``locked_session`` without the ORM. With ``relaxed`` (meters: counters, usage), the
        commit survives a killed process but may be lost to a power cut."""
        with (self._relaxed_engine if relaxed else self.engine).begin() as connection:
            self._take_write_lock(connection, relaxed=relaxed)
            yield connection

    def _take_write_lock(self, connection: Connection, *, relaxed: bool) -> None:
        if self._sqlite:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif relaxed:
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")

    def dispose(self) -> None:
        """Close pooled connections (on shutdown, or before a test deletes the file)."""
        self.engine.dispose()
        if self._relaxed_engine is not self.engine:
            self._relaxed_engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"
