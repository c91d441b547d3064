"""The Toolbox surface the agent loop uses: strict specs, proposals, and model mistakes turned
into observations that say what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.agent.tools import SandboxMode, Toolbox, ToolCallError
from hearth.agent.tools.observation import bound


def test_specs_are_strict_schemas_with_nullable_optionals(tmp_path: Path) -> None:
    specs = Toolbox(tmp_path).specs()
    assert [s["function"]["name"] for s in specs] == [
        "write_file", "apply_patch", "list_files", "read_file", "search", "shell"]
    for spec in specs:
        assert spec["type"] == "function"
        parameters = spec["function"]["parameters"]
        assert parameters["additionalProperties"] is False
        assert parameters["required"] == list(parameters["properties"])
    read = next(s for s in specs if s["function"]["name"] == "read_file")
    properties = read["function"]["parameters"]["properties"]
    assert properties["path"]["type"] == "string"
    assert properties["start_line"]["type"] == ["integer", "null"]


def test_without_shell_there_is_no_shell_tool(tmp_path: Path) -> None:
    toolbox = Toolbox(tmp_path, SandboxMode.FULL_ACCESS, allow_shell=False)
    assert "shell" not in {s["function"]["name"] for s in toolbox.specs()}
    result = toolbox.call("shell", json.dumps({"command": "touch x"}))
    assert not result.ok and not (tmp_path / "x").exists()


@pytest.mark.parametrize(("name", "arguments", "expected"), [
    ("delete_everything", "{}", "There is no tool 'delete_everything'. The tools are: write_file"),
    ("read_file", '{"path": "a.txt",', "The arguments of read_file are not valid JSON"),
    ("read_file", '["a.txt"]', "must be a JSON object like"),
    ("read_file", '{"start_line": 1}', "read_file needs the argument 'path'"),
    ("read_file", '{"path": "a.txt", "start_line": "1"}',
     "The argument 'start_line' of read_file must be an integer or null, not \"1\""),
    ("write_file", '{"path": "a.txt", "content": true}',
     "The argument 'content' of write_file must be a string, not true"),
])
def test_model_mistakes_raise_in_propose_and_come_back_from_call(
        tmp_path: Path, name: str, arguments: str, expected: str) -> None:
    toolbox = Toolbox(tmp_path, allow_shell=False)
    with pytest.raises(ToolCallError) as raised:
        toolbox.propose(name, arguments)
    assert expected in str(raised.value)
    result = toolbox.call(name, arguments)
    assert not result.ok and expected in result.text


def test_missing_nullable_arguments_count_as_null(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    result = Toolbox(tmp_path, allow_shell=False).call("read_file", '{"path": "a.txt"}')
    assert result.ok and result.text == "[a.txt, lines 1-2 of 2]\none\ntwo"


def test_proposals_summarise_reads_and_commands(tmp_path: Path) -> None:
    toolbox = Toolbox(tmp_path, SandboxMode.FULL_ACCESS)
    shell = toolbox.propose("shell", json.dumps({"command": "pytest -q"}))
    assert (shell.kind, shell.summary, shell.diff) == ("command", "run: pytest -q", None)
    read = toolbox.propose("read_file", '{"path": "src/app.py"}')
    assert (read.kind, read.summary) == ("read", "read src/app.py")
    search = toolbox.propose("search", '{"pattern": "def main", "path": null}')
    assert (search.kind, search.summary) == ("read", "search 'def main' in .")


def test_write_file_proposal_diffs_against_the_current_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    proposal = Toolbox(tmp_path, allow_shell=False).propose(
        "write_file", json.dumps({"path": "a.txt", "content": "one\n2\n"}))
    assert proposal.summary == "edit a.txt"
    assert proposal.diff == "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n"
    assert (tmp_path / "a.txt").read_text() == "one\ntwo\n"


def test_short_text_is_not_bounded() -> None:
    text = "".join(f"line {n}\n" for n in range(256))
    assert bound(text) == text


def test_many_lines_keep_head_and_tail_and_say_what_was_cut() -> None:
    text = "".join(f"line {n}\n" for n in range(1000))
    lines = bound(text).splitlines()
    assert lines[:128] == [f"line {n}" for n in range(128)]
    assert lines[-128:] == [f"line {n}" for n in range(872, 1000)]
    cut = sum(len(f"line {n}\n") for n in range(128, 872))
    assert lines[128] == (f"[... {cut} bytes cut from the middle, about 744 of 1000 lines; "
                          "the head and the tail are shown ...]")


def test_one_huge_line_keeps_10_kib_from_both_ends() -> None:
    text = "a" * 30_000 + "b" * 30_000
    bounded = bound(text)
    head, marker, tail = bounded.split("\n")
    assert head == "a" * 5120 and tail == "b" * 5120
    assert marker.startswith("[... 49760 bytes cut from the middle")


def test_a_failed_write_is_an_observation_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n")
    result = Toolbox(tmp_path, allow_shell=False).call(
        "write_file", json.dumps({"path": "a.txt/b.txt", "content": "x"}))  # a.txt is a file
    assert not result.ok and result.text.startswith("write_file failed: [Errno")
    assert (tmp_path / "a.txt").read_text() == "x\n"
