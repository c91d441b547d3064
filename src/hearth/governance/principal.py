"""Who is calling: the org, user, role, scopes, key and plan a request was resolved to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hearth.errors import Forbidden, InvalidRequest
from hearth.governance.plans import allows_fine_tuning
from hearth.governance.roles import ACTS_FOR_OTHERS, Role
from hearth.store.owner import Owner

LOCAL_ORG = "local"  # the operator's own org: a single-user install lives here
LOCAL_USER = "local"
MAX_USER_LENGTH = 64  # the width of user_id in the store


@dataclass(frozen=True)
class Principal:
    org_id: str
    user_id: str
    role: Role
    scopes: frozenset[str]
    plan: str
    priority: int
    limits: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    key_id: str | None = None  # None: an open local install, where no keys exist yet

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        who = f"{self.org_id}/{self.user_id}"
        return f"{who} (key {self.key_id})" if self.key_id else who

    @property
    def is_platform_admin(self) -> bool:
        """Owners and admins of the operator's org manage every org; others only their own."""
        return (self.org_id == LOCAL_ORG and self.role in (Role.OWNER, Role.ADMIN)
                and "admin" in self.scopes)

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope.", code="insufficient_scope")

    def require_fine_tuning(self, *, starting: bool = True) -> None:
        """Refuse a fine-tuning change the role or plan does not allow: a service key only
        chats and reads; the plan is asked only when ``starting`` something (an upload, a
        job), so an org moved to a plan without fine-tuning can still cancel and delete."""
        if self.role == Role.SERVICE:
            raise Forbidden("A service key may not fine-tune or change fine-tuning data: use "
                            "a member's, admin's or owner's key.",
                            code="insufficient_permissions")
        if starting and not allows_fine_tuning(self.limits):
            raise Forbidden(f"The {self.plan!r} plan does not include fine-tuning: ask an "
                            f"administrator to move organisation {self.org_id!r} to a plan "
                            f"that does (hearth admin org set {self.org_id} --plan pro).",
                            code="fine_tuning_not_allowed")

    def owner_for(self, named_user: str | None) -> Owner:
        """Whose conversations and memories a request reaches.

        The caller's own, unless it names an end user: owners, admins and services (an app
        backend) may act for any user of their org; members only for themselves, whether
        they came with a key or signed in with a password. (The open install's local owner
        is an owner.)
        """
        if named_user is not None and len(named_user) > MAX_USER_LENGTH:
            raise InvalidRequest(f"The user name is longer than {MAX_USER_LENGTH} characters.",
                                 param="user")
        if not named_user or named_user == self.user_id:
            return Owner(self.org_id, self.user_id)
        if self.role not in ACTS_FOR_OTHERS:
            raise Forbidden("A member acts only for their own user; they cannot name "
                            f"another user ({named_user!r}).", code="user_not_allowed")
        return Owner(self.org_id, named_user)
