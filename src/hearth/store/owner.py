"""Whose data a row is: an organisation and a user in it. Every store query is scoped by one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    """An org and a user; the store narrows every read and write to one of these."""

    org_id: str
    user_id: str

    @property
    def key(self) -> str:
        """The vector index's partition: one owner's vectors are searched alone."""
        return f"{self.org_id}\x1f{self.user_id}"

    @property
    def token(self) -> str:
        """The owner as one full-text token (letters and digits only)."""
        return "o" + hashlib.sha256(self.key.encode()).hexdigest()[:24]
