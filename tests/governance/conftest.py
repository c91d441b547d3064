"""What the governance tests share: a migrated SQLite file of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.store.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A fresh database: the seeded plans (free, pro, enterprise), the "local" org, no keys."""
    database = Database(f"sqlite:///{tmp_path}/h.db")
    database.migrate()
    yield database
    database.dispose()
