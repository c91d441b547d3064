"""Whose data a row is: an organisation and a user in it. Every store query is scoped by one."""

from __future__ import annotations

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
