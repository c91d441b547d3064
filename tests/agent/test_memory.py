"""The agent keeps a user's standing instructions in hearth's memory, across sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent_fakes import FolderTools, ScriptedModel, call
from live_server import FAKE_ENV, LiveServer

from hearth.agent.memory import CodingMemory
from hearth.agent.session import Session


def test_an_instruction_said_in_one_session_is_in_the_next_sessions_prompt(
        serve: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = serve(FAKE_ENV)
    memory = CodingMemory(server.base_url, "ingrid")
    assert memory.prompt() == ""
    first = Session(ScriptedModel([call("remember", instruction="use pytest, never unittest"),
                                   call("finish", summary="noted")]),
                    FolderTools(tmp_path), [{"role": "system", "content": "rules"}],
                    memory=memory)
    assert first.run("Add a test. Use pytest, never unittest.").status == "done"
    answers = [m["content"] for m in first.messages if m["role"] == "tool"]
    assert answers[0] == "Remembered for later sessions: use pytest, never unittest"
    # A later session, a new client: the instruction is in what the model is told first.
    later = CodingMemory(server.base_url, "ingrid").prompt()
    assert "- use pytest, never unittest" in later
    # Said again, it is not kept twice; another user does not see it.
    memory.remember("use pytest, never unittest")
    assert CodingMemory(server.base_url, "ingrid").instructions() == ["use pytest, never unittest"]
    assert CodingMemory(server.base_url, "olaf").instructions() == []


def test_the_remember_tool_is_offered_only_with_a_memory(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    class Recording(ScriptedModel):
        def step(self, messages, tools, temperature=0.0):
            seen.append([t["function"]["name"] for t in tools])
            return super().step(messages, tools, temperature)

    Session(Recording([call("finish", summary="ok")]), FolderTools(tmp_path),
            [{"role": "system", "content": "rules"}]).run("task")
    assert "remember" not in seen[0] and "finish" in seen[0]


def test_a_server_without_a_memory_api_gives_an_agent_without_memory() -> None:
    memory = CodingMemory("http://127.0.0.1:9/v1", "ingrid")  # nothing listens on port 9
    assert memory.instructions() == [] and memory.prompt() == ""
