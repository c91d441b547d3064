"""The bounds every number from outside must keep before it reaches the database.

A SQLite INTEGER and a PostgreSQL BIGINT hold a signed 64-bit value; a larger Python int makes
the driver raise (``OverflowError``, ``NumericValueOutOfRange``) deep inside a query, which a
caller would see as a 500. Every id, offset, limit and count a client sends is declared with
these bounds at the edge (HTTP, CLI), so such a value is a clear 400 instead.

Spans counted in days from now (retention, a key's lifetime) are bounded to a hundred years:
a date past year 9999 cannot be represented at all.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_STORED_INT = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=MAX_STORED_INT)]  # offsets, limits, quotas
RowId = Annotated[int, Field(ge=1, le=MAX_STORED_INT)]  # autoincrement ids start at 1

MAX_DAYS = 36_500
RetentionDays = Annotated[int, Field(ge=1, le=MAX_DAYS)]
