"""Fixed SQL run on the database driver's own cursor, for the per-request gate.

The gate runs a handful of statements twice per request; through SQLAlchemy's execution
layer each costs several times what the database spends on it. Here they go straight to the
driver, inside the transaction SQLAlchemy opened (so pooling, locking and commit stay
SQLAlchemy's). Statements are written with ``:name`` parameters and work on SQLite and
PostgreSQL alike; this class covers the two differences that remain: the parameter style,
and how datetimes and JSON come back (SQLite keeps them as text, in SQLAlchemy's format).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

_NAMED = re.compile(r"(?<!:):(\w+)")


@cache
def _pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql)


class DriverSQL:
    def __init__(self, driver_connection: Any, *, sqlite: bool):
        self.sqlite = sqlite
        self.driver_connection = driver_connection
        self._cursor = driver_connection.cursor()

    @classmethod
    def of(cls, connection: Connection) -> DriverSQL:
        """The driver under a SQLAlchemy connection, in the transaction it has open."""
        return cls(connection.connection.driver_connection,
                   sqlite=connection.dialect.name == "sqlite")

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        self._cursor.execute(sql if self.sqlite else _pyformat(sql), params or {})
        return self._cursor

    def one(self, sql: str, params: dict[str, Any] | None = None) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def when(self, value: datetime) -> Any:
        """A UTC datetime as the store keeps it (see ``hearth.store.tables.UTCDateTime``)."""
        if self.sqlite:
            if value.tzinfo is not UTC:  # the gate's own clock reads are UTC already
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def read_when(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    @staticmethod
    def read_json(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value
