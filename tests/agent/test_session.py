"""The agent loop's rules: one action a turn, format errors, repeats, limits, approval, context."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hearth.agent.approval import ApprovalPolicy
from hearth.agent.events import Event
from hearth.agent.git import GitWorkspace
from hearth.agent.model import ModelTurn, ToolRequest
from hearth.agent.session import MAX_FORMAT_ERRORS, MAX_REPEATS, Limits, Session
from agent_fakes import ContextFull, FolderTools, ScriptedModel, call


def session(tmp_path: Path, model: ScriptedModel, **options) -> tuple[Session, list[Event]]:
    events: list[Event] = []
    return Session(model, FolderTools(tmp_path), [{"role": "system", "content": "rules"}],
                   events.append, **options), events


def test_a_task_runs_its_tool_calls_and_ends_when_the_model_finishes(tmp_path: Path) -> None:
    model = ScriptedModel([call("write", path="a.txt", content="hello"),
                           call("finish", summary="wrote a.txt")])
    agent, events = session(tmp_path, model)
    outcome = agent.run("write hello to a.txt")
    assert outcome.status == "done" and outcome.summary == "wrote a.txt"
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert outcome.changed_files == ["a.txt"] and outcome.steps == 2
    assert outcome.prompt_tokens == 200 and outcome.malformed_calls == 0
    # The model saw its own call and the tool's answer, tied by the call's id.
    assistant, tool = model.seen[1][-2:]
    assert assistant["tool_calls"][0]["function"]["name"] == "write"
    assert tool == {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"],
                    "content": "wrote a.txt\n[If the task is done now, call finish; otherwise "
                               "take the next step.]"}
    assert [e.type for e in events] == ["task", "model.turn", "tool.call", "tool.result",
                                        "model.turn", "session.ended"]


def test_writing_the_same_change_again_ends_the_session_as_done(tmp_path: Path) -> None:
    write = call("write", path="a.txt", content="hello")
    model = ScriptedModel([write, write, call("write", path="b", content="never")])
    agent, _ = session(tmp_path, model)
    outcome = agent.run("write hello to a.txt")
    assert outcome.status == "done" and "did not call finish" in outcome.summary
    assert outcome.steps == 2 and not (tmp_path / "b").exists()


def test_the_same_write_before_any_change_is_not_taken_as_done(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    write = call("write", path="a.txt", content="hello")
    agent, _ = session(tmp_path, ScriptedModel([write] * 5), limits=Limits(max_steps=5))
    assert agent.run("task").status == "repeating"


def test_only_the_first_of_several_calls_runs(tmp_path: Path) -> None:
    two = ModelTurn("", [ToolRequest("c1", "write", '{"path": "a", "content": "1"}'),
                         ToolRequest("c2", "write", '{"path": "b", "content": "2"}')])
    agent, _ = session(tmp_path, ScriptedModel([two, call("finish", summary="ok")]))
    agent.run("task")
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert len(agent.messages[2]["tool_calls"]) == 1


def test_replies_without_a_usable_call_are_told_back_and_end_the_session_in_a_row(
        tmp_path: Path) -> None:
    bad = [ModelTurn("I will write the file now."),
           ModelTurn("", [ToolRequest("c", "teleport", "{}")]),
           ModelTurn("", [ToolRequest("d", "write", "not json")])]
    model = ScriptedModel(bad + [call("finish", summary="never reached")])
    agent, events = session(tmp_path, model)
    outcome = agent.run("task")
    assert outcome.status == "format_errors" and outcome.steps == MAX_FORMAT_ERRORS
    assert outcome.malformed_calls == 3 and outcome.tool_calls == 3
    notes = [m["content"] for m in model.seen[2] if m["role"] in ("user", "tool")][1:]
    assert "no tool call" in notes[0] and "unknown tool 'teleport'" in notes[1]
    assert all("finish" in note for note in notes)
    assert [e.data["problem"] for e in events if e.type == "format.error"][2] == \
        "arguments that are not a JSON object"


def test_a_good_call_resets_the_format_error_count(tmp_path: Path) -> None:
    turns = [ModelTurn("hm"), ModelTurn("hm"), call("write", path="a", content="x"),
             ModelTurn("hm"), ModelTurn("hm"), call("finish", summary="done")]
    model = ScriptedModel(turns)
    agent, _ = session(tmp_path, model)
    assert agent.run("task").status == "done"
    # Each failed reply makes the next one warmer; a good one goes back to greedy.
    assert model.temperatures == [0.0, 0.5, 0.9, 0.0, 0.5, 0.9]


def test_repeating_the_same_failure_is_warned_then_stopped_before_the_step_limit(
        tmp_path: Path) -> None:
    model = ScriptedModel([call("fail")] * 10)
    agent, events = session(tmp_path, model, limits=Limits(max_steps=10))
    outcome = agent.run("task")
    assert outcome.status == "repeating"
    assert outcome.steps == MAX_REPEATS + 1
    results = [e.data for e in events if e.type == "tool.result"]
    assert results[0]["repeated"] is False and all(r["repeated"] for r in results[1:])
    assert "Do something different" in model.seen[-1][-1]["content"]


def test_the_step_limit_ends_a_session_that_keeps_making_changes(tmp_path: Path) -> None:
    turns = [call("write", path=f"f{i}", content=str(i)) for i in range(5)]
    agent, _ = session(tmp_path, ScriptedModel(turns), limits=Limits(max_steps=3))
    outcome = agent.run("task")
    assert outcome.status == "step_limit" and outcome.steps == 3
    assert outcome.changed_files == ["f0", "f1", "f2"]


def test_untrusted_asks_before_edits_and_commands_and_a_no_is_told_to_the_model(
        tmp_path: Path) -> None:
    asked = []
    model = ScriptedModel([call("write", path="a", content="x"), call("run", command="ls"),
                           call("finish", summary="gave up")])
    agent, events = session(tmp_path, model, policy=ApprovalPolicy.UNTRUSTED,
                            ask=lambda p: asked.append(p.summary) or False)
    agent.run("task")
    assert asked == ["edit a", "run: ls"]
    assert not (tmp_path / "a").exists() and agent.tools.calls == []
    assert "declined" in model.seen[1][-1]["content"]
    assert [e.data["approved"] for e in events if e.type == "approval"] == [False, False]


def test_on_request_asks_only_for_commands_that_may_change_something(tmp_path: Path) -> None:
    asked = []
    model = ScriptedModel([call("write", path="a", content="x"), call("run", command="ls -la"),
                           call("run", command="rm -rf build"), call("finish", summary="ok")])
    agent, _ = session(tmp_path, model, policy=ApprovalPolicy.ON_REQUEST,
                       ask=lambda p: asked.append(p.summary) or True)
    agent.run("task")
    assert asked == ["run: rm -rf build"]
    assert agent.tools.calls == ["write", "run", "run"]


def test_old_tool_results_are_dropped_when_the_context_fills(tmp_path: Path) -> None:
    writes = [call("write", path=f"f{i}", content="x" * 10) for i in range(6)]
    big = ModelTurn("", writes[5].calls, prompt_tokens=900)
    model = ScriptedModel([*writes[:5], big, call("finish", summary="ok")])
    agent, events = session(tmp_path, model, limits=Limits(context_tokens=1000))
    agent.run("task")
    compactions = [e for e in events if e.type == "context.compacted"]
    assert compactions and compactions[0].data["dropped_results"] == 1  # five kept, four recent
    tool_texts = [m["content"] for m in agent.messages if m["role"] == "tool"]
    assert tool_texts[0].startswith("[dropped to save context")
    assert tool_texts[-2].startswith("wrote f5\n")


def test_a_server_that_says_the_context_is_full_gets_a_shorter_history(tmp_path: Path) -> None:
    model = ScriptedModel([call("write", path="a", content="x"), call("write", path="b",
                                                                        content="y"),
                           ContextFull, call("finish", summary="ok")])
    agent, _ = session(tmp_path, model)
    assert agent.run("task").status == "done"
    retried = model.seen[-1]
    assert [m["content"] for m in retried if m["role"] == "tool"][0].startswith("[dropped")


def test_when_nothing_is_left_to_drop_the_session_ends_clearly(tmp_path: Path) -> None:
    agent, _ = session(tmp_path, ScriptedModel([ContextFull]))
    assert agent.run("task").status == "context_full"


def _git_repo(path: Path) -> None:
    for command in (["init", "-q"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *command], cwd=path, check=True)
    (path / "a").write_text("one\n")
    subprocess.run(["git", "add", "a"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-qm", "start"], cwd=path, check=True)


def test_each_change_is_committed_and_undo_takes_back_the_last(tmp_path: Path) -> None:
    _git_repo(tmp_path)
    model = ScriptedModel([call("write", path="a", content="two\n"),
                           call("write", path="new", content="fresh\n"),
                           call("finish", summary="ok")])
    git = GitWorkspace(tmp_path)
    agent, _ = session(tmp_path, model, git=git, commit=True)
    agent.run("task")
    log = subprocess.run(["git", "log", "--format=%s"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert log == ["hearth code: edit new", "hearth code: edit a", "start"]
    diff = git.diff()
    assert "+two" in diff and "+fresh" in diff
    git.undo()
    assert not (tmp_path / "new").exists()
    git.undo()
    assert (tmp_path / "a").read_text() == "one\n"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True,
                            text=True, check=True).stdout
    assert status == "" and git.undo() is None


def test_a_reply_cut_off_at_the_length_limit_is_told_why(tmp_path: Path) -> None:
    cut = ModelTurn("", [ToolRequest("c", "write", '{"path": "a", "content": "x x x x')],
                    completion_tokens=1024, finish_reason="length")
    model = ScriptedModel([cut, call("finish", summary="ok")])
    agent, events = session(tmp_path, model)
    assert agent.run("task").status == "done"
    note = model.seen[1][-1]["content"]
    assert note.startswith("Your reply was cut off at the length limit (1024 tokens).")
    assert "shorter" in note and "apply_patch" in note
    assert [e.data["problem"] for e in events if e.type == "format.error"] == [
        "a reply cut off at the length limit (1024 tokens)"]
