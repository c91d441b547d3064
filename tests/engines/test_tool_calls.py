import json

import pytest

from hearth.engines.tool_calls import (
    CallHoldBack, forced_call_schema, forced_function_names, parse_tool_calls,
)
from hearth.errors import InvalidRequest

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}},
]


def test_tagged_calls_are_parsed_and_removed_from_content() -> None:
    text = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    content, calls = parse_tool_calls(text, TOOLS)
    assert content == "Sure."
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Oslo"})]
    assert calls[0].id.startswith("call_")


def test_a_bare_json_call_is_recognised() -> None:
    _, calls = parse_tool_calls('{"name": "add", "arguments": {"a": 1}}', TOOLS)
    assert calls[0].name == "add"


def test_a_call_in_a_markdown_fence_is_recognised() -> None:
    text = '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```'
    content, calls = parse_tool_calls(text, TOOLS)
    assert content == "" and calls[0].name == "get_weather"


def test_unknown_functions_and_plain_text_stay_content() -> None:
    text = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>'
    assert parse_tool_calls(text, TOOLS) == (text, [])
    assert parse_tool_calls("just words", TOOLS) == ("just words", [])


def test_tool_choice_decides_what_is_forced() -> None:
    assert forced_function_names(TOOLS, "auto") is None
    assert forced_function_names(TOOLS, "required") == ["get_weather", "add"]
    named = {"type": "function", "function": {"name": "add"}}
    assert forced_function_names(TOOLS, named) == ["add"]
    with pytest.raises(InvalidRequest):
        forced_function_names(TOOLS, {"type": "function", "function": {"name": "nope"}})


def test_forced_schema_pins_the_name_and_uses_the_parameters() -> None:
    schema = forced_call_schema(TOOLS, ["get_weather"])
    assert schema["properties"]["name"] == {"const": "get_weather"}
    assert schema["properties"]["arguments"]["required"] == ["city"]
    assert len(forced_call_schema(TOOLS, ["get_weather", "add"])["anyOf"]) == 2


def stream_through(pieces: list[str]) -> tuple[list[str], str]:
    hold = CallHoldBack()
    return [out for piece in pieces if (out := hold.feed(piece))], hold.flush()


def test_plain_text_of_an_answer_that_may_call_tools_streams_as_it_comes() -> None:
    streamed, held = stream_through(["Let me ", "look at ", "the files."])
    assert streamed == ["Let me ", "look at ", "the files."]
    assert held == ""


def test_text_that_may_begin_a_call_mark_waits_until_it_cannot() -> None:
    hold = CallHoldBack()
    assert hold.feed("Checking <tool") == "Checking "
    assert hold.feed("box now") == "<toolbox now"


def test_a_tagged_call_is_held_back_after_the_text_before_it() -> None:
    call = '<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>'
    streamed, held = stream_through(["I will add them.\n", call[:15], call[15:]])
    assert "".join(streamed) == "I will add them.\n"
    text, calls = parse_tool_calls(held, TOOLS)
    assert text == "" and [c.name for c in calls] == ["add"]


@pytest.mark.parametrize("opening", ['  {"name": "add"', '```json\n{"name": "add"'])
def test_an_answer_opening_like_a_bare_or_fenced_json_call_is_held_whole(opening: str) -> None:
    streamed, held = stream_through([opening, ', "arguments": {}}'])
    assert streamed == []
    assert held == opening + ', "arguments": {}}'
