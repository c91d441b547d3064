"""JSON schemas a client sends (``response_format``, tool parameters) are checked here, before
any engine sees them.

Each engine reads a schema its own way: llama.cpp turns it into a grammar and refuses what it
cannot convert, the fake engine builds an example from it, an upstream server forwards it. A
schema that is not a JSON schema at all (``{"type": "nonsense"}``, ``{"properties": 5}``) is
refused the same way on every engine: a 400 naming what is wrong, checked against the
metaschema of the draft it declares (2020-12 when it declares none).
"""

from __future__ import annotations

from typing import Annotated, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from pydantic import AfterValidator


def _checked(schema: dict[str, Any]) -> dict[str, Any]:
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        raise ValueError(f"not a valid JSON schema{f' at {where!r}' if where else ''}: "
                         f"{exc.message}") from None
    return schema


JsonSchema = Annotated[dict[str, Any], AfterValidator(_checked)]
