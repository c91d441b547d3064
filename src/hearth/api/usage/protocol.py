"""Response schema of ``GET /v1/usage``: a person's own use, and what their plan leaves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Day(BaseModel):
    date: str
    requests: int
    tokens: int
    energy_joules: float


class Quota(BaseModel):
    """One limit of the caller's plan, at one level, and how much of it is used today."""

    kind: Literal["tokens_per_day"]
    level: Literal["key", "user", "org"]
    limit: int
    used: int
    left: int


class UsageSummary(BaseModel):
    object: Literal["usage"] = "usage"
    org_id: str
    user_id: str
    plan: str
    days: list[Day]
    quotas: list[Quota]
    # The plan's other limits as stored (requests per minute, concurrent streams).
    limits: dict
