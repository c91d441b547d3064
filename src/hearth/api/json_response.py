"""A JSON response rendered by pydantic-core instead of the standard library's ``json``.

Chat answers are rendered once per request on the gateway's hot path; pydantic-core (already
there for pydantic) does it in about a third of the time, with the same compact output as
Starlette's ``JSONResponse`` (UTF-8, no spaces). NaN and infinity become null rather than an
error; nothing hearth answers holds them.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return to_json(content)
