"""What the governance tests share: a migrated SQLite file of their own."""

from __future__ import annotations

import pytest

from hearth.store.db import Database


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """A fresh database: the seeded plans (free, pro, enterprise), the "local" org, no keys."""
    return sqlite_db
