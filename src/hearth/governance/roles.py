"""Roles and scopes: what a key may do is its own scopes within what its user's role allows."""

from __future__ import annotations

from enum import StrEnum

from hearth.errors import InvalidRequest


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    SERVICE = "service"  # read-only: may chat and read memories, never change anything


SCOPES = ("chat", "memory:read", "memory:write", "admin")

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.OWNER: frozenset(SCOPES),
    Role.ADMIN: frozenset(SCOPES),
    Role.MEMBER: frozenset({"chat", "memory:read", "memory:write"}),
    Role.SERVICE: frozenset({"chat", "memory:read"}),
}

# Roles that may act for other users of their org (an app backend naming its end users).
ACTS_FOR_OTHERS = frozenset({Role.OWNER, Role.ADMIN, Role.SERVICE})


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(f"Unknown role {value!r}; choose one of: "
                             f"{', '.join(r.value for r in Role)}.", param="role") from None


def parse_scopes(values: list[str] | None) -> list[str]:
    """Scopes for a new key; none given means every scope (still capped by the role)."""
    if not values:
        return list(SCOPES)
    unknown = sorted(set(values) - set(SCOPES))
    if unknown:
        raise InvalidRequest(f"Unknown scope(s) {', '.join(unknown)}; choose from: "
                             f"{', '.join(SCOPES)}.", param="scopes")
    return sorted(set(values))
