"""Completions of gpt-oss, as harmony token sequences, parsed into answer pieces.

The sequences are built with openai-harmony's own encoding, as the model writes them; each is
fed token by token as the engine streams it (without the stop token, which ends generation
before it reaches the parser), and the pieces are checked against harmony's whole-completion
parser as well as against what the messages say.
"""

from __future__ import annotations

import json

import pytest
from openai_harmony import HarmonyEncoding, Role

from hearth.engines.base import Delta
from hearth.engines.harmony import HarmonyStream

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}


def completion(encoding: HarmonyEncoding, text: str) -> list[int]:
    """Tokens of a completion written in harmony's text form; its stop token removed."""
    tokens = encoding.encode(text, allowed_special="all")
    if tokens[-1] in encoding.stop_tokens_for_assistant_actions():
        tokens.pop()
    return tokens


def stream(encoding: HarmonyEncoding, tokens: list[int], reason: str = "stop",
           tools: list[dict] | None = None) -> list[Delta]:
    parser = HarmonyStream(encoding, tools)
    pieces = [d for t in tokens if (d := parser.feed(t)) is not None]
    return [*pieces, parser.finish(reason)]


def joined(pieces: list[Delta], field: str) -> str:
    return "".join(getattr(p, field) for p in pieces)


def test_reasoning_and_answer_arrive_apart_token_by_token(encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>analysis<|message|>The user greets me. Reply "
                        "kindly.<|end|><|start|>assistant<|channel|>final<|message|>Hello! How "
                        "can I help?<|return|>")
    pieces = stream(encoding, tokens)
    assert joined(pieces, "reasoning") == "The user greets me. Reply kindly."
    assert joined(pieces, "content") == "Hello! How can I help?"
    assert len([p for p in pieces if p.content]) > 3  # streamed, not held back
    assert all(not (p.content and p.reasoning) for p in pieces)
    assert pieces[-1].finish_reason == "stop" and pieces[-1].tool_calls is None


def test_streamed_pieces_agree_with_the_whole_completion_parse(
        encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>analysis<|message|>Sum: 2+2 is 4.<|end|>"
                        "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4<|return|>")
    whole = encoding.parse_messages_from_completion_tokens(
        tokens + encoding.stop_tokens_for_assistant_actions()[-1:], Role.ASSISTANT)
    by_channel = {m.channel: m.content[0].text for m in whole}
    pieces = stream(encoding, tokens)
    assert joined(pieces, "reasoning") == by_channel["analysis"]
    assert joined(pieces, "content") == by_channel["final"]


def test_commentary_to_a_function_is_a_tool_call(encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>analysis<|message|>Need the weather in Paris."
                        "<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather"
                        " <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>")
    pieces = stream(encoding, tokens, tools=[WEATHER_TOOL])
    last = pieces[-1]
    assert last.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in last.tool_calls] == [
        ("get_weather", {"location": "Paris"})]
    assert last.tool_calls[0].id.startswith("call_")
    assert joined(pieces, "content") == ""  # the arguments never leak into the answer
    assert joined(pieces, "reasoning") == "Need the weather in Paris."


def test_call_to_a_function_not_offered_is_dropped(encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>commentary to=functions.delete_files "
                        "<|constrain|>json<|message|>{}<|call|>")
    pieces = stream(encoding, tokens, tools=[WEATHER_TOOL])
    assert pieces[-1].tool_calls is None and pieces[-1].finish_reason == "stop"


def test_preamble_before_a_call_is_content(encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>commentary<|message|>Checking the weather."
                        "<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather"
                        " <|constrain|>json<|message|>{\"location\": \"Oslo\"}<|call|>")
    pieces = stream(encoding, tokens, tools=[WEATHER_TOOL])
    assert joined(pieces, "content") == "Checking the weather."
    assert pieces[-1].tool_calls[0].name == "get_weather"


def test_completion_cut_off_mid_reasoning_ends_cleanly(encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>analysis<|message|>First, consider the")
    pieces = stream(encoding, tokens, reason="length")
    assert joined(pieces, "reasoning") == "First, consider the"
    assert joined(pieces, "content") == ""
    assert pieces[-1].finish_reason == "length"


def test_completion_cut_off_inside_a_header_ends_cleanly(encoding: HarmonyEncoding) -> None:
    tokens = completion(encoding, "<|channel|>analysis<|message|>Done.<|end|><|start|>assistant"
                        "<|channel|>fin")
    pieces = stream(encoding, tokens, reason="length")
    assert joined(pieces, "reasoning") == "Done."
    assert pieces[-1].finish_reason == "length"


@pytest.mark.parametrize("text", [
    "<|channel|><|message|>a channel marker without a channel",
    "<|channel|>final<|message|>Hi<|end|><|message|><|channel|>x",
])
def test_output_that_breaks_the_format_ends_with_what_was_parsed(
        encoding: HarmonyEncoding, text: str) -> None:
    parser = HarmonyStream(encoding, None)
    pieces = [d for t in encoding.encode(text, allowed_special="all")
              if (d := parser.feed(t)) is not None]
    last = parser.finish("stop")
    assert parser.broken
    assert last.finish_reason == "stop"
    assert "<|" not in joined(pieces, "content")


def test_message_without_a_channel_is_the_answer(encoding: HarmonyEncoding) -> None:
    pieces = stream(encoding, completion(encoding, "<|message|>Plain answer.<|return|>"))
    assert joined(pieces, "content") == "Plain answer."
    assert pieces[-1].finish_reason == "stop"
