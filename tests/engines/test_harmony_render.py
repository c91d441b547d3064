"""Chat requests rendered for gpt-oss in harmony: what the model reads, in the format it was
trained on (the expected texts are harmony's, as openai-harmony documents them)."""

from __future__ import annotations

import json

import pytest
from openai_harmony import HarmonyEncoding

from hearth.engines.base import ChatRequest
from hearth.engines.harmony import HarmonyStream, render_prompt
from hearth.errors import InvalidRequest

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}
QUESTION = [{"role": "user", "content": "What is the weather in Tokyo?"}]


def rendered(encoding: HarmonyEncoding, **request) -> str:
    return encoding.decode(render_prompt(encoding, ChatRequest(**request)))


def section(prompt: str, role: str) -> str:
    """The text of the first message by ``role`` (header included)."""
    start = prompt.index(f"<|start|>{role}")
    return prompt[start: prompt.index("<|end|>", start)]


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_reasoning_effort_goes_into_the_system_message(encoding: HarmonyEncoding,
                                                       effort: str) -> None:
    prompt = rendered(encoding, messages=QUESTION, reasoning_effort=effort)
    assert f"Reasoning: {effort}" in section(prompt, "system")


def test_reasoning_effort_defaults_to_medium(encoding: HarmonyEncoding) -> None:
    assert "Reasoning: medium" in section(rendered(encoding, messages=QUESTION), "system")


def test_unknown_reasoning_effort_is_refused(encoding: HarmonyEncoding) -> None:
    with pytest.raises(InvalidRequest, match="reasoning_effort"):
        render_prompt(encoding, ChatRequest(messages=QUESTION, reasoning_effort="extreme"))


def test_prompt_ends_where_the_assistant_speaks(encoding: HarmonyEncoding) -> None:
    prompt = rendered(encoding, messages=QUESTION)
    assert prompt.endswith("<|start|>user<|message|>What is the weather in Tokyo?<|end|>"
                           "<|start|>assistant")


def test_system_messages_and_tools_go_into_the_developer_message(
        encoding: HarmonyEncoding) -> None:
    prompt = rendered(encoding, messages=[{"role": "system", "content": "Answer briefly."},
                                          *QUESTION], tools=[WEATHER_TOOL])
    developer = section(prompt, "developer")
    assert "# Instructions\n\nAnswer briefly." in developer
    assert "namespace functions {" in developer
    assert "// Current weather in a city.\ntype get_weather = (_: {\nlocation: string,\n})" \
        in developer
    assert "Answer briefly." not in section(prompt, "system")
    assert "commentary channel: 'functions'" in section(prompt, "system")


def test_tool_choice_none_offers_no_tools(encoding: HarmonyEncoding) -> None:
    prompt = rendered(encoding, messages=QUESTION, tools=[WEATHER_TOOL], tool_choice="none")
    assert "get_weather" not in prompt and "<|start|>developer" not in prompt


def test_tool_call_and_its_result_are_rendered_as_harmony_messages(
        encoding: HarmonyEncoding) -> None:
    messages = [*QUESTION,
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"location":"Tokyo"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 21}'}]
    prompt = rendered(encoding, messages=messages, tools=[WEATHER_TOOL])
    assert ("<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
            '<|message|>{"location":"Tokyo"}<|call|>') in prompt
    assert ("<|start|>functions.get_weather to=assistant<|channel|>commentary"
            '<|message|>{"celsius": 21}<|end|><|start|>assistant') in prompt


def test_earlier_answers_are_on_the_final_channel(encoding: HarmonyEncoding) -> None:
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Bye"}]
    prompt = rendered(encoding, messages=messages)
    assert "<|start|>assistant<|channel|>final<|message|>Hello!<|end|>" in prompt


def test_a_parsed_tool_call_renders_back_with_its_arguments(
        encoding: HarmonyEncoding) -> None:
    written = ('<|start|>assistant<|channel|>commentary to=functions.get_weather '
               '<|constrain|>json<|message|>{"location": "Lima"}<|call|>')
    tokens = encoding.encode(written, allowed_special="all")
    stream = HarmonyStream(encoding, [WEATHER_TOOL])
    for token in tokens[2:-1]:  # what follows the prompt's "<|start|>assistant", less the stop
        stream.feed(token)
    call = stream.finish("stop").tool_calls[0]
    assert json.loads(call.arguments) == {"location": "Lima"}
    again = rendered(encoding, messages=[*QUESTION, {"role": "assistant", "tool_calls": [
        {"id": call.id, "type": "function",
         "function": {"name": call.name, "arguments": call.arguments}}]}])
    assert ('to=functions.get_weather<|channel|>commentary <|constrain|>json'
            '<|message|>{"location": "Lima"}<|call|>') in again
