"""``/v1/responses`` of a live `hearth serve`, driven by the official SDK's ``responses`` client.

The fake engine answers "You said: <last user message>", one word per token, and counts a
prompt as its words plus 3 per message, so usage can be worked out by hand. With a reasoning
effort it first thinks "Thinking (<effort>) about: <last user message>".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from live_server import FAKE_ENV, LiveServer, start_server

MODEL = FAKE_ENV["HEARTH_MODEL"]
MAX_TOKENS_LIMIT = 64
WEATHER_TOOL = {
    "type": "function", "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("home"), env={
        **FAKE_ENV, "HEARTH_MAX_TOKENS_LIMIT": str(MAX_TOKENS_LIMIT)})
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=20)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=20) as raw:
        yield raw


def assert_openai_error(response: httpx.Response, status: int, *,
                        param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if param is not None:
        assert error["param"] == param
    return error


# --- answers, whole and streamed ------------------------------------------------------------


def test_a_string_input_is_answered_with_one_message_and_usage(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="hello there")

    assert response.id.startswith("resp_") and response.object == "response"
    assert (response.status, response.model) == ("completed", MODEL)
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == "You said: hello there"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 4)
    assert response.usage.total_tokens == 9


def test_instructions_are_the_system_message(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="hello there",
                                       instructions="Be brief.")

    assert response.instructions == "Be brief."
    assert response.usage.input_tokens == 5 + 5  # the instructions are one more message


def test_a_stream_is_the_documented_event_sequence(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="one two three", stream=True))

    types = [event.type for event in events]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert types == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added", *["response.output_text.delta"] * 5,
                     "response.output_text.done", "response.content_part.done",
                     "response.output_item.done", "response.completed"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert "".join(deltas) == "You said: one two three"
    assert events[-2].item.content[0].text == "You said: one two three"
    final = events[-1].response
    assert (final.status, final.output_text) == ("completed", "You said: one two three")
    assert (final.usage.input_tokens, final.usage.output_tokens) == (6, 5)


def test_the_sdks_stream_helper_assembles_the_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="stream me") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(texts) == final.output_text == "You said: stream me"


def test_reasoning_is_an_item_of_its_own_before_the_answer(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="two words",
                                       reasoning={"effort": "low"})

    reasoning, message = response.output
    assert reasoning.type == "reasoning"
    assert [part.text for part in reasoning.content] == ["Thinking (low) about: two words"]
    assert response.output_text == "You said: two words"
    assert response.usage.output_tokens_details.reasoning_tokens == 5
    assert response.reasoning.effort == "low"


def test_streamed_reasoning_comes_as_reasoning_text_deltas(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="hi", stream=True,
                                          reasoning={"effort": "high"}))

    types = [event.type for event in events]
    thought = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert thought == "Thinking (high) about: hi"
    assert types.index("response.reasoning_text.done") < types.index(
        "response.output_text.delta")
    done = [e.item.type for e in events if e.type == "response.output_item.done"]
    assert done == ["reasoning", "message"]


def test_max_output_tokens_cuts_the_answer_and_the_response_is_incomplete(
    client: openai.OpenAI,
) -> None:
    whole = client.responses.create(model=MODEL, input="a long sentence", max_output_tokens=3)
    events = list(client.responses.create(model=MODEL, input="a long sentence",
                                          max_output_tokens=3, stream=True))

    assert (whole.status, whole.incomplete_details.reason) == ("incomplete", "max_output_tokens")
    assert whole.output_text == "You said: a"
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_json_schema_text_format_gives_json_that_validates(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"},
                                                "population": {"type": "integer"}},
              "required": ["city", "population"], "additionalProperties": False}

    response = client.responses.create(
        model=MODEL, input="Describe Lisbon.",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema,
                         "strict": True}})

    jsonschema.validate(json.loads(response.output_text), schema)
    assert response.text.format.type == "json_schema"


# --- function tools -----------------------------------------------------------------------------


def test_a_function_call_round_trip_continues_from_the_stored_response(
    client: openai.OpenAI,
) -> None:
    question = "What is the weather in Paris?"
    called = client.responses.create(model=MODEL, input=question, tools=[WEATHER_TOOL],
                                     tool_choice="required")
    (call,) = called.output
    assert (call.type, call.name, call.status) == ("function_call", "get_weather", "completed")
    assert set(json.loads(call.arguments)) == {"city"}

    answered = client.responses.create(
        model=MODEL, previous_response_id=called.id, tools=[WEATHER_TOOL],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])

    assert answered.status == "completed"
    assert answered.output_text == f"You said: {question}"
    # user (6 words + 3), the assistant's call (0 + 3), the tool's output (1 + 3)
    assert answered.usage.input_tokens == 16


def test_a_client_can_send_the_whole_tool_exchange_back_itself(client: openai.OpenAI) -> None:
    question = "What is the weather in Paris?"
    called = client.responses.create(model=MODEL, input=question, tools=[WEATHER_TOOL],
                                     tool_choice={"type": "function", "name": "get_weather"},
                                     store=False)
    call = called.output[0]

    answered = client.responses.create(model=MODEL, tools=[WEATHER_TOOL], store=False, input=[
        {"role": "user", "content": [{"type": "input_text", "text": question}]},
        {"type": "reasoning", "id": "rs_1", "summary": [],
         "content": [{"type": "reasoning_text", "text": "Look it up."}]},
        {"type": "function_call", "call_id": call.call_id, "name": call.name,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ])

    assert answered.output_text == f"You said: {question}"
    assert answered.usage.input_tokens == 16  # as above: the reasoning item is not prompted


def test_a_streamed_function_call_has_its_arguments_events(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="Weather in Oslo?",
                                          tools=[WEATHER_TOOL], tool_choice="required",
                                          stream=True))

    types = [event.type for event in events]
    assert types == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done",
                     "response.completed"]
    done = events[-2].item
    assert (done.type, done.name) == ("function_call", "get_weather")
    assert done.arguments == events[3].delta == events[4].arguments
    assert events[-1].response.output[0].call_id == done.call_id


def test_a_call_to_a_function_in_a_namespace_names_its_namespace(client: openai.OpenAI) -> None:
    agents = {"type": "namespace", "name": "agents", "description": "Sub-agents.",
              "tools": [{**WEATHER_TOOL, "name": "spawn_agent"}]}

    called = client.responses.create(model=MODEL, input="Start a helper.",
                                     tools=[WEATHER_TOOL, agents],
                                     tool_choice={"type": "function", "name": "spawn_agent"})

    (call,) = called.output
    assert (call.name, call.namespace) == ("spawn_agent", "agents")
    assert called.tools[1].type == "namespace"


def test_a_tool_type_hearth_cannot_run_is_a_400_naming_it(http: httpx.Client) -> None:
    response = http.post("/responses", json={"model": MODEL, "input": "hi",
                                             "tools": [{"type": "web_search"}]})

    error = assert_openai_error(response, 400)
    assert "'web_search'" in error["message"] and error["param"].startswith("tools")


@pytest.mark.parametrize(("item", "named"), [
    ({"type": "item_reference", "id": "msg_1"}, "'item_reference'"),
    ({"role": "user", "content": [{"type": "input_image", "image_url": "http://x/y.png"}]},
     "'input_image'"),
])
def test_an_input_hearth_cannot_read_is_a_400_naming_it(http: httpx.Client, item: dict,
                                                        named: str) -> None:
    response = http.post("/responses", json={"model": MODEL, "input": [item]})

    assert named in assert_openai_error(response, 400)["message"]


# --- stored responses ---------------------------------------------------------------------------


def test_a_stored_response_reads_back_lists_its_input_and_can_be_deleted(
    client: openai.OpenAI,
) -> None:
    first = client.responses.create(model=MODEL, input="My name is Ann")
    second = client.responses.create(model=MODEL, input="What is my name?",
                                     previous_response_id=first.id)

    # The first turn, its answer and the new question: (4+3) + (6+3) + (4+3)
    assert second.usage.input_tokens == 23
    assert second.previous_response_id == first.id
    again = client.responses.retrieve(second.id)
    assert (again.id, again.output_text, again.status) == (second.id, second.output_text,
                                                           "completed")
    items = client.responses.input_items.list(second.id)
    assert [(i.type, i.role) for i in items.data] == [
        ("message", "user"), ("message", "assistant"), ("message", "user")]
    assert items.data[0].content[0].text == "What is my name?"  # newest first
    oldest = client.responses.input_items.list(second.id, order="asc", limit=1)
    assert oldest.data[0].content[0].text == "My name is Ann" and oldest.has_more

    client.responses.delete(second.id)

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(second.id)
    assert client.responses.retrieve(first.id).id == first.id


def test_a_streamed_response_is_stored_by_the_time_it_completes(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="keep me", stream=True))

    stored = client.responses.retrieve(events[-1].response.id)

    assert (stored.status, stored.output_text) == ("completed", "You said: keep me")


def test_a_response_not_stored_cannot_be_read_or_continued(client: openai.OpenAI,
                                                           http: httpx.Client) -> None:
    response = client.responses.create(model=MODEL, input="forget me", store=False)

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    continued = http.post("/responses", json={"model": MODEL, "input": "and?",
                                              "previous_response_id": response.id})
    assert assert_openai_error(continued, 404)["code"] == "response_not_found"


# --- refusals -----------------------------------------------------------------------------------


def test_another_model_is_a_404(http: httpx.Client) -> None:
    response = http.post("/responses", json={"model": "gpt-9", "input": "hi"})

    assert assert_openai_error(response, 404, param="model")["code"] == "model_not_found"


def test_max_output_tokens_over_the_servers_limit_is_a_400_naming_it(http: httpx.Client) -> None:
    response = http.post("/responses", json={"model": MODEL, "input": "hi",
                                             "max_output_tokens": MAX_TOKENS_LIMIT + 1})

    assert_openai_error(response, 400, param="max_output_tokens")


def test_a_background_response_is_refused(http: httpx.Client) -> None:
    response = http.post("/responses", json={"model": MODEL, "input": "hi", "background": True})

    assert "background" in assert_openai_error(response, 400)["message"]


# --- memory -------------------------------------------------------------------------------------


def as_user(name: str, **headers: str) -> dict[str, Any]:
    return {"extra_headers": {"X-Hearth-User": name, **headers}}


def test_a_known_users_memories_are_recalled_into_the_instructions(
    client: openai.OpenAI, http: httpx.Client,
) -> None:
    made = http.post("/memories", headers={"X-Hearth-User": "ivy"},
                     json={"text": "Ivy keeps bees in Porto.", "kind": "fact"})
    assert made.status_code == 201, made.text
    question = "Where do I keep my bees?"

    recalled = client.responses.create(model=MODEL, input=question, **as_user("ivy"))
    without = client.responses.create(model=MODEL, input=question,
                                      **as_user("ivy", **{"X-Hearth-Memory": "off"}))

    assert without.usage.input_tokens == 6 + 3  # the question alone
    assert recalled.usage.input_tokens > without.usage.input_tokens + len(made.json()["text"]
                                                                          .split())


def test_what_a_known_user_says_is_remembered_unless_memory_is_off(
    client: openai.OpenAI, http: httpx.Client,
) -> None:
    client.responses.create(model=MODEL, input="I live in Oslo.", metadata={"memory": "off"},
                            **as_user("jo"))
    client.responses.create(model=MODEL, input="I live in Porto and I work as a nurse.",
                            **as_user("kai"))

    deadline = time.monotonic() + 60
    while not (remembered := http.get("/memories", headers={"X-Hearth-User": "kai"})
               .json()["data"]):
        assert time.monotonic() < deadline, "nothing kai said was remembered"
        time.sleep(0.2)
    assert any("Porto" in memory["text"] for memory in remembered)
    assert http.get("/memories", headers={"X-Hearth-User": "jo"}).json()["data"] == []
