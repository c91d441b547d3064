"""The LLM extractor: JSON-schema requests, strict parsing, the rules as fallback, and the
server using it when HEARTH_MEMORY_EXTRACTOR=llm."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient

from hearth.api.app import create_app
from hearth.config import Settings
from hearth.engines.base import ChatRequest, Delta
from hearth.engines.fake import FakeEngine
from hearth.memory.extract import extract
from hearth.memory.llm_extract import (
    SCHEMA,
    EngineCompleter,
    LLMExtractor,
    extraction_request,
    parse_candidates,
)

SAID = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)  # a Monday
ANSWER = {"memories": [
    {"kind": "event", "text": "Anna adopted a grey cat called Pixel last Saturday.",
     "happened_on": None, "importance": 0.7},
    {"kind": "relationship", "text": "Anna's sister Clara is a vet in Lyon.",
     "happened_on": "2023-05-01", "importance": 0.8},
]}


def test_the_request_asks_for_schema_output_at_temperature_zero() -> None:
    request = extraction_request("Yes, last Friday!", speaker="Anna", said_at=SAID,
                                 previous="Did you run the Oslo marathon?",
                                 previous_speaker="Bo")
    assert request.response_format == {"type": "json_schema",
                                       "json_schema": {"name": "memories", "schema": SCHEMA}}
    assert request.temperature == 0.0
    system, user = request.messages
    assert "Anna" in system["content"] and "Monday 08 May 2023" in system["content"]
    assert "Bo: Did you run the Oslo marathon?" in user["content"]
    assert user["content"].endswith("Anna's message: Yes, last Friday!")
    jsonschema.validate(ANSWER, SCHEMA)


def test_an_answer_becomes_candidates_with_dates_resolved() -> None:
    adopted, sister = parse_candidates(json.dumps(ANSWER), SAID)
    assert adopted.kind == "event" and adopted.importance == 0.7
    # No date from the model: the relative one in the text is resolved, as the rules do.
    assert "last Saturday (6 May 2023)" in adopted.text
    assert adopted.observed_at == datetime(2023, 5, 6, tzinfo=UTC)
    assert sister.observed_at == datetime(2023, 5, 1, tzinfo=UTC)
    [plain] = parse_candidates(json.dumps({"memories": [
        {"kind": "fact", "text": "Anna likes tea.", "happened_on": None,
         "importance": 0.3}]}), SAID)
    assert plain.observed_at == SAID


@pytest.mark.parametrize("answer", [
    "not json",
    json.dumps({"facts": []}),
    json.dumps({"memories": [{"kind": "gossip", "text": "Anna likes tea.",
                              "happened_on": None, "importance": 0.3}]}),
    json.dumps({"memories": [{"kind": "fact", "text": "Anna likes tea.",
                              "happened_on": None, "importance": 3}]}),
    json.dumps({"memories": [{"kind": "fact", "text": "Anna likes tea.",
                              "happened_on": "last May", "importance": 0.3}]}),
    json.dumps({"memories": [{"kind": "fact", "text": " ", "happened_on": None,
                              "importance": 0.3}]}),
])
def test_an_answer_that_breaks_the_schema_is_refused(answer: str) -> None:
    with pytest.raises(ValueError):
        parse_candidates(answer, SAID)


def test_the_rules_answer_when_the_model_fails_or_talks_nonsense() -> None:
    text = "I adopted a grey cat called Pixel."
    rules = extract(text, speaker="Anna", said_at=SAID)
    assert rules

    def broken(_: ChatRequest) -> str:
        raise TimeoutError

    assert LLMExtractor(broken)(text, speaker="Anna", said_at=SAID) == rules
    assert LLMExtractor(lambda _: "Sure! Here are the memories:")(
        text, speaker="Anna", said_at=SAID) == rules
    asked: list[ChatRequest] = []
    answered = LLMExtractor(lambda r: asked.append(r) or json.dumps(ANSWER))(
        text, speaker="Anna", said_at=SAID)
    assert [c.text for c in answered][1] == "Anna's sister Clara is a vet in Lyon."
    assert asked[0].response_format is not None


@pytest.fixture
def running_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_the_completer_runs_the_engine_on_its_loop_from_another_thread(
        running_loop: asyncio.AbstractEventLoop) -> None:
    engine = FakeEngine("fake", context_length=4096, slots=1, max_queue=4)
    completer = EngineCompleter(engine, timeout=10)
    request = extraction_request("I adopted a cat.", speaker="Anna", said_at=SAID)
    with pytest.raises(RuntimeError, match="not running"):
        completer(request)
    completer.bind(running_loop)
    answer = json.loads(completer(request))  # the fake's smallest instance of the schema
    jsonschema.validate(answer, SCHEMA)
    assert parse_candidates(json.dumps(answer), SAID) == []


class ScriptedEngine(FakeEngine):
    """Answers extraction requests (those with a schema) with ``ANSWER``."""

    async def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        if request.response_format is None:
            async for delta in super().chat(request):
                yield delta
            return
        yield Delta(content=json.dumps(ANSWER), finish_reason="stop")


def test_the_server_remembers_through_the_model_when_configured(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, engine="fake", model="fake-model",
                        memory_extractor="llm")
    engine = ScriptedEngine("fake-model", context_length=4096, slots=2, max_queue=8)
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        response = client.post("/v1/chat/completions", headers={"X-Hearth-User": "anna"},
                               json={"model": "fake-model", "messages": [
                                   {"role": "user", "content": "Hello there!"}]})
        assert response.status_code == 200, response.text
        assert app.state.generation.assistant.worker.wait_idle(timeout=30)
        listed = client.get("/v1/memories", headers={"X-Hearth-User": "anna"}).json()
    # "Hello there!" is chit-chat to the rules: these memories can only be the model's.
    remembered = sorted(m["text"] for m in listed["data"])
    assert len(remembered) == 2
    assert remembered[0].startswith("Anna adopted a grey cat called Pixel last Saturday (")
    assert remembered[1] == "Anna's sister Clara is a vet in Lyon."
