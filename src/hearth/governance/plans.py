"""Plans: named tiers of limits, and how a limit is read off one.

A plan also says whether its orgs may fine-tune (``fine_tuning``): training ties up a machine
for minutes to hours, so it is a feature an operator grants, and the seeded ``free`` plan does
not (migration 0014). A plan stored without the setting may, as plans are unlimited in what
they do not name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from hearth.errors import InvalidRequest
from hearth.store.bounds import Count

Level = Literal["key", "user", "org"]
LEVELS: tuple[Level, ...] = ("key", "user", "org")


class LevelLimits(BaseModel):
    """One kind of limit at each level; None means unlimited."""

    model_config = ConfigDict(extra="forbid")  # a misspelt level would silently be unlimited

    key: Count | None = None
    user: Count | None = None
    org: Count | None = None


class PlanLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_minute: LevelLimits = LevelLimits()
    tokens_per_day: LevelLimits = LevelLimits()
    concurrent_streams: LevelLimits = LevelLimits()
    fine_tuning: bool = True


def allows_fine_tuning(limits: dict) -> bool:
    """Whether a plan with these stored ``limits`` lets its orgs fine-tune."""
    return bool(limits.get("fine_tuning", True))


def limit(limits: dict, kind: str, level: Level) -> int | None:
    return (limits.get(kind) or {}).get(level)


LIMITS_SHAPE = ('a JSON object such as {"requests_per_minute": {"key": 60}, "tokens_per_day": '
                '{"org": 1000000}}: requests_per_minute, tokens_per_day and concurrent_streams '
                'each map key, user and org to a whole number from 0 (or null: unlimited); '
                'fine_tuning (true or false) says whether the plan may fine-tune')


def parse_limits(text: str) -> PlanLimits:
    """A plan's limits from JSON text (as typed on the command line), or an error naming
    what is wrong and the shape expected."""
    try:
        return PlanLimits.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problem = (f"not valid JSON ({first['msg']})" if first["type"] == "json_invalid"
                   else f"{where or 'the value'}: {first['msg']}")
        raise InvalidRequest(f"Invalid limits: {problem}. Expected {LIMITS_SHAPE}.",
                             param="limits") from None
