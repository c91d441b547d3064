"""Plans: named tiers of limits, and how a limit is read off one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Level = Literal["key", "user", "org"]
LEVELS: tuple[Level, ...] = ("key", "user", "org")


class LevelLimits(BaseModel):
    """One kind of limit at each level; None means unlimited."""

    key: int | None = Field(default=None, ge=0)
    user: int | None = Field(default=None, ge=0)
    org: int | None = Field(default=None, ge=0)


class PlanLimits(BaseModel):
    requests_per_minute: LevelLimits = LevelLimits()
    tokens_per_day: LevelLimits = LevelLimits()
    concurrent_streams: LevelLimits = LevelLimits()


def limit(limits: dict, kind: str, level: Level) -> int | None:
    return (limits.get(kind) or {}).get(level)
