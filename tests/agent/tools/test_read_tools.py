"""list_files, read_file and search: what the model may read, honouring .gitignore, bounded."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from hearth.agent.tools import Toolbox


def call(toolbox: Toolbox, name: str, **arguments: object):
    return toolbox.call(name, json.dumps(arguments))


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src/pkg/deep/deeper").mkdir(parents=True)
    (root / "build").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "src/app.py").write_text("def main():\n    return 'needle'\n")
    (root / "src/pkg/deep/deeper/x.py").write_text("NEEDLE = 1\n")
    (root / "src/pkg/deep/deeper/y.py").write_text("y = 2\n")
    (root / "build/out.py").write_text("needle = 'built'\n")
    (root / "debug.log").write_text("needle in a log\n")
    return root


def test_list_files_leaves_out_gitignored_files(git_repo: Path) -> None:
    result = call(Toolbox(git_repo, allow_shell=False), "list_files", path=".", depth=None)
    assert result.ok
    assert result.text.splitlines() == [
        ".gitignore", "src/app.py", "src/pkg/deep/ (2 files)"]


def test_list_files_depth_and_subfolder(git_repo: Path) -> None:
    toolbox = Toolbox(git_repo, allow_shell=False)
    assert call(toolbox, "list_files", path="src", depth=1).text.splitlines() == [
        "src/app.py", "src/pkg/ (2 files)"]
    assert call(toolbox, "list_files", path="src/pkg", depth=10).text.splitlines() == [
        "src/pkg/deep/deeper/x.py", "src/pkg/deep/deeper/y.py"]


def test_list_files_outside_git_skips_dot_folders(tmp_path: Path) -> None:
    (tmp_path / ".venv/lib").mkdir(parents=True)
    (tmp_path / ".venv/lib/site.py").write_text("")
    (tmp_path / "main.py").write_text("")
    result = call(Toolbox(tmp_path, allow_shell=False), "list_files", path=".", depth=None)
    assert result.text.splitlines() == ["main.py"]


def test_read_file_gives_the_lines_as_they_are_and_says_how_to_read_on(tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_text("".join(f"row {n}\n" for n in range(1, 601)))
    toolbox = Toolbox(tmp_path, allow_shell=False)
    first = call(toolbox, "read_file", path="long.txt", start_line=None, end_line=None).text
    assert first.splitlines()[:2] == ["[long.txt, lines 1-250 of 600]", "row 1"]
    assert "row 250" in first and "row 251" not in first
    assert first.endswith("[read on with start_line=251]")
    part = call(toolbox, "read_file", path="long.txt", start_line=598, end_line=700).text
    assert part.splitlines() == ["[long.txt, lines 598-600 of 600]", "row 598", "row 599",
                                 "row 600"]


def test_read_file_errors_tell_the_model_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\n")
    toolbox = Toolbox(tmp_path, allow_shell=False)
    missing = call(toolbox, "read_file", path="b.txt", start_line=None, end_line=None)
    assert not missing.ok and "There is no file 'b.txt'" in missing.text
    past = call(toolbox, "read_file", path="a.txt", start_line=5, end_line=None)
    assert not past.ok and "a.txt has 1 lines; start_line 5 is past its end" in past.text


def test_search_finds_matches_but_not_in_ignored_files(git_repo: Path) -> None:
    result = call(Toolbox(git_repo, allow_shell=False), "search", pattern="(?i)needle",
                  path=None)
    assert result.ok
    assert result.text.splitlines() == [
        "src/app.py:2: return 'needle'", "src/pkg/deep/deeper/x.py:1: NEEDLE = 1"]


def test_search_reports_a_bad_regex(git_repo: Path) -> None:
    result = call(Toolbox(git_repo, allow_shell=False), "search", pattern="main(", path="src")
    assert not result.ok and "not a valid Python regular expression" in result.text


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("secret needle\n")
    return folder


@pytest.mark.parametrize("path", ["../outside/secret.txt", "ABSOLUTE", "link/secret.txt"])
def test_read_tools_refuse_paths_outside_the_repository(tmp_path: Path, outside: Path,
                                                        path: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "link")
    path = str(outside / "secret.txt") if path == "ABSOLUTE" else path
    toolbox = Toolbox(root, allow_shell=False)
    read = call(toolbox, "read_file", path=path, start_line=None, end_line=None)
    assert not read.ok and "is outside the repository" in read.text
    assert "secret" not in read.text.replace("secret.txt", "")
    listed = call(toolbox, "list_files", path=str(Path(path).parent), depth=None)
    assert not listed.ok and "is outside the repository" in listed.text


def test_search_does_not_follow_a_symlink_out(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside / "secret.txt", root / "leak.txt")
    result = call(Toolbox(root, allow_shell=False), "search", pattern="needle", path=None)
    assert result.ok and result.text.startswith("No line matches")
