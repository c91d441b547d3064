"""The edit tools write inside the repository only: never through `..`, an absolute path, a
symlink pointing out, or into .git/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hearth.agent.tools import Toolbox, ToolCallError


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    (root / ".git").mkdir(parents=True)
    outside.mkdir()
    (outside / "victim.txt").write_text("original\n")
    os.symlink(outside, root / "link")
    os.symlink(outside / "victim.txt", root / "victim-link.txt")
    return root, outside


def escapes(outside: Path) -> list[str]:
    return ["../outside/victim.txt", str(outside / "victim.txt"), "link/victim.txt",
            "victim-link.txt", "sub/../../outside/victim.txt"]


def test_write_file_writes_inside_the_repository(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    result = Toolbox(root, allow_shell=False).call(
        "write_file", json.dumps({"path": "pkg/mod.py", "content": "x = 1\n"}))
    assert result.ok and result.changed_files == ("pkg/mod.py",)
    assert (root / "pkg/mod.py").read_text() == "x = 1\n"


def test_write_file_refuses_every_way_out(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    toolbox = Toolbox(root, allow_shell=False)
    for path in escapes(outside):
        result = toolbox.call("write_file", json.dumps({"path": path, "content": "pwned\n"}))
        assert not result.ok and "is outside the repository" in result.text, path
        with pytest.raises(ToolCallError, match="is outside the repository"):
            toolbox.propose("write_file", json.dumps({"path": path, "content": "pwned\n"}))
    assert (outside / "victim.txt").read_text() == "original\n"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


def test_apply_patch_refuses_every_way_out(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    toolbox = Toolbox(root, allow_shell=False)
    for path in escapes(outside):
        for body in (f"*** Add File: {path}\n+pwned",
                     f"*** Update File: {path}\n@@\n-original\n+pwned",
                     f"*** Delete File: {path}",
                     f"*** Add File: inside.txt\n+x\n*** Update File: inside.txt\n"
                     f"*** Move to: {path}\n@@\n-x\n+pwned"):
            result = toolbox.call("apply_patch", json.dumps(
                {"input": f"*** Begin Patch\n{body}\n*** End Patch"}))
            assert not result.ok and "is outside the repository" in result.text, body
    assert (outside / "victim.txt").read_text() == "original\n"
    assert not (root / "inside.txt").exists()


def test_edit_tools_never_write_into_dot_git(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    toolbox = Toolbox(root, allow_shell=False)
    wrote = toolbox.call("write_file", json.dumps({"path": ".git/config", "content": "x"}))
    patched = toolbox.call("apply_patch", json.dumps(
        {"input": "*** Begin Patch\n*** Add File: .git/hooks/pre-commit\n+x\n*** End Patch"}))
    for result in (wrote, patched):
        assert not result.ok and "inside .git/" in result.text
    assert list((root / ".git").iterdir()) == []


def test_read_only_mode_offers_no_edit_tools(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    toolbox = Toolbox(root, "read-only", allow_shell=False)  # type: ignore[arg-type]
    assert {spec["function"]["name"] for spec in toolbox.specs()} == {
        "list_files", "read_file", "search"}
    result = toolbox.call("write_file", json.dumps({"path": "a.txt", "content": "x"}))
    assert not result.ok and "not available in this sandbox mode" in result.text
    assert not (root / "a.txt").exists()
