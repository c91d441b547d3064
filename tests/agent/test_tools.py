"""The reading tools, whole-file writes, argument checks and bounded observations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hearth.agent.tools import SandboxMode, ToolCallError, Toolbox
from hearth.agent.tools.observation import MAX_LINES, bounded


def args(**values) -> str:
    return json.dumps(values)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(1, 1001)))
    (root / "src" / "util.py").write_text("def helper():\n    return 42\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "junk.py").write_text("def helper():\n    pass\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def test_listing_and_search_leave_out_what_git_ignores(repo: Path) -> None:
    tools = Toolbox(repo)
    listed = tools.call("list_files", args(path=".", depth=None)).text
    assert "src/app.py" in listed and "build" not in listed
    found = tools.call("search", args(pattern=r"def helper", path=None))
    assert found.text == "src/util.py:1: def helper():"


def test_reading_numbers_lines_and_says_where_to_go_on(repo: Path) -> None:
    tools = Toolbox(repo)
    part = tools.call("read_file", args(path="src/app.py", start_line=10, end_line=12)).text
    assert part.splitlines()[:3] == ["   10  line 10", "   11  line 11", "   12  line 12"]
    whole = tools.call("read_file", args(path="src/app.py", start_line=None, end_line=None)).text
    assert "read on with start_line=401" in whole


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "src/../../x"])
def test_paths_outside_the_repository_are_refused(repo: Path, path: str) -> None:
    tools = Toolbox(repo)
    for name, extra in (("read_file", {"start_line": None, "end_line": None}),
                        ("write_file", {"content": "x"})):
        result = tools.call(name, args(path=path, **extra))
        assert not result.ok and "outside the repository" in result.text
    assert not (repo.parent / "outside.txt").exists()


def test_a_symlink_pointing_out_is_not_written_through(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("keep")
    (repo / "link.txt").symlink_to(target)
    result = Toolbox(repo).call("write_file", args(path="link.txt", content="overwritten"))
    assert not result.ok and target.read_text() == "keep"


def test_git_internals_are_never_written(repo: Path) -> None:
    result = Toolbox(repo).call("write_file", args(path=".git/config", content="x"))
    assert not result.ok and ".git/" in result.text


def test_write_file_creates_folders_and_reports_the_change(repo: Path) -> None:
    result = Toolbox(repo).call("write_file", args(path="pkg/mod.py", content="X = 1\n"))
    assert result.ok and result.changed_files == ("pkg/mod.py",)
    assert (repo / "pkg" / "mod.py").read_text() == "X = 1\n"


def test_bad_calls_are_explained_not_raised(repo: Path) -> None:
    tools = Toolbox(repo)
    assert "no tool 'teleport'" in tools.call("teleport", "{}").text
    assert "not valid JSON" in tools.call("read_file", "{path:").text
    assert "needs 'path'" in tools.call("read_file", args(start_line=1, end_line=2)).text
    assert "must be integer or null" in tools.call(
        "read_file", args(path="src/app.py", start_line="one", end_line=None)).text
    with pytest.raises(ToolCallError):
        tools.propose("teleport", "{}")


def test_read_only_mode_offers_no_edits_and_no_shell_can_be_turned_off(repo: Path) -> None:
    names = lambda tools: {s["function"]["name"] for s in tools.specs()}  # noqa: E731
    assert names(Toolbox(repo, SandboxMode.READ_ONLY)) == {"list_files", "read_file", "search",
                                                           "shell"}
    assert "shell" not in names(Toolbox(repo, allow_shell=False))
    for spec in Toolbox(repo).specs():
        parameters = spec["function"]["parameters"]
        assert parameters["additionalProperties"] is False
        assert parameters["required"] == list(parameters["properties"])


def test_long_output_keeps_head_and_tail_and_says_what_was_cut() -> None:
    text = "\n".join(f"row {i}" for i in range(1000))
    cut = bounded(text)
    lines = cut.splitlines()
    assert lines[0] == "row 0" and lines[-1] == "row 999"
    assert len(lines) <= MAX_LINES + 1
    assert f"{1000 - (len(lines) - 1)} lines cut: 1000 in all" in cut
    assert bounded("short") == "short"
    huge = bounded("x" * 50_000)
    assert "bytes cut" in huge and len(huge) < 11_000
