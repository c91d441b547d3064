"""Request bodies for fuzzing a JSON route, and what every answer to them must be.

``bodies_near(valid)`` draws bodies that start from a valid one and are wrong in one to three
places, at any depth: a value replaced by arbitrary JSON, a field dropped, an unknown field
added (besides, now and then, bodies that are arbitrary JSON or not JSON at all). A body wrong
in one place reaches that place's checks, which is where a server's validation tends to
miss. A route's fuzz test is one valid body and ``assert_openai_answer`` on each answer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
from hypothesis import strategies as st

# Text with lone surrogates too: JSON can carry them ("\ud800"), no encoder can write them.
json_text = st.text(st.characters(exclude_categories=[]), max_size=20)
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | json_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=12)

Path = tuple[str | int, ...]


def _paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every place in a JSON value, the value itself (``()``) first."""
    yield path
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        yield from _paths(item, (*path, key))


def _mutated(valid: dict[str, Any], changes: list[tuple[Path, str, Any, str]]) -> Any:
    body: Any = copy.deepcopy(valid)
    for path, how, value, new_key in changes:
        if not path:
            body = value if how == "replace" else body
            continue
        parent = body
        try:
            for step in path[:-1]:
                parent = parent[step]
            if how == "replace":
                parent[path[-1]] = value
            elif how == "drop":
                del parent[path[-1]]
            elif isinstance(parent[path[-1]], dict):
                parent[path[-1]][new_key] = value
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change took this place away
    return body


def bodies_near(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Encoded request bodies around ``valid`` (see the module docstring)."""
    change = st.tuples(st.sampled_from(list(_paths(valid))),
                       st.sampled_from(["replace", "drop", "add"]), json_values, json_text)
    near = st.lists(change, min_size=1, max_size=3).map(
        lambda changes: json.dumps(_mutated(valid, changes)).encode())
    return st.one_of(near, near, near, st.binary(max_size=64))  # three in four near ``valid``


def _assert_error(body: Any) -> None:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["type"], str), body


def assert_openai_answer(response: httpx.Response) -> None:
    """No 5xx; an error in OpenAI's shape; a 200 as a JSON object or as server-sent events,
    each one JSON, ending in ``[DONE]`` or in an error in OpenAI's shape."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        _assert_error(response.json())
        return
    assert response.status_code == 200, response.text
    if not response.headers["content-type"].startswith("text/event-stream"):
        assert isinstance(response.json(), dict), response.text
        return
    *events, last = [line.removeprefix("data: ") for line in response.text.splitlines()
                     if line.startswith("data: ")]
    for event in events:
        assert isinstance(json.loads(event), dict), event
    if last != "[DONE]":
        _assert_error(json.loads(last))
