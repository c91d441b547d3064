"""The Responses stream hearth writes, checked event by event against the ``openai`` SDK's own
types (validated strictly, not parsed leniently as the SDK's client does)."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from openai.types.responses import ResponseStreamEvent

from hearth.api.responses.events import ResponseBuilder
from hearth.engines.base import Delta, ToolCall
from hearth.errors import UpstreamError

# The SDK's event class for each event type (its union is told apart by ``type``).
EVENT_TYPES = {get_args(cls.model_fields["type"].annotation)[0]: cls
               for cls in get_args(get_args(ResponseStreamEvent)[0])}


def response_object() -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress",
            "error": None, "incomplete_details": None, "instructions": None, "model": "m",
            "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": None, "metadata": {}}


def builder(**options: Any) -> ResponseBuilder:
    return ResponseBuilder(response_object(), count_tokens=lambda text: len(text.split()),
                           parallel_tool_calls=options.get("parallel_tool_calls", True),
                           stream=options.get("stream", True))


def parsed(sse: list[str]) -> list[dict[str, Any]]:
    """Each server-sent event's data, after checking its ``event:`` line names its type and
    the SDK's types accept it."""
    events = []
    for text in sse:
        head, data = text.removesuffix("\n\n").split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert head == f"event: {event['type']}"
        EVENT_TYPES[event["type"]].model_validate(event)
        events.append(event)
    return events


def test_thinking_answering_and_calling_make_three_items_in_order() -> None:
    build = builder()
    sse = build.start()
    for delta in (Delta(reasoning="Let me"), Delta(reasoning=" see."), Delta(content="Calling.")):
        sse += build.feed(delta)
    sse += build.finish(Delta(tool_calls=[ToolCall("call_1", "f", '{"a": 1}')],
                              finish_reason="tool_calls", prompt_tokens=7, completion_tokens=4))

    events = parsed(sse)

    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [item["type"] for item in done] == ["reasoning", "message", "function_call"]
    assert done[0]["content"] == [{"type": "reasoning_text", "text": "Let me see."}]
    assert done[2]["call_id"] == "call_1" and done[2]["arguments"] == '{"a": 1}'
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert [item["status"] for item in added] == ["in_progress"] * 3
    final = events[-1]
    assert final["type"] == "response.completed"
    assert final["response"]["output"] == done
    assert final["response"]["usage"]["output_tokens_details"] == {"reasoning_tokens": 3}


def test_a_failure_mid_answer_ends_the_stream_with_response_failed() -> None:
    build = builder()
    sse = build.start() + build.feed(Delta(content="Half an"))
    sse += build.failed(UpstreamError("The upstream went away."))

    events = parsed(sse)

    assert events[-2]["item"]["status"] == "incomplete"
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"]["code"] == "server_error"
    assert failed["response"]["error"]["message"] == "The upstream went away."


@pytest.mark.parametrize("parallel", [True, False])
def test_without_parallel_tool_calls_only_the_first_call_is_kept(parallel: bool) -> None:
    build = builder(parallel_tool_calls=parallel, stream=False)
    calls = [ToolCall("call_1", "f", "{}"), ToolCall("call_2", "g", "{}")]

    assert build.finish(Delta(tool_calls=calls, finish_reason="tool_calls")) == []

    kept = [item["call_id"] for item in build.response["output"]]
    assert kept == (["call_1", "call_2"] if parallel else ["call_1"])
