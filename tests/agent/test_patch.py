"""Codex's apply_patch envelope: what applies, what is refused, and what the model is told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.agent.tools import Toolbox


def patch_call(tools: Toolbox, text: str):
    return tools.call("apply_patch", json.dumps({"input": text}))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(
        "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a + b\n")
    return tmp_path


def test_an_update_with_two_hunks_applies_in_order(repo: Path) -> None:
    result = patch_call(Toolbox(repo), """*** Begin Patch
*** Update File: app.py
@@ def add(a, b):
-    return a - b
+    return a + b
@@ def sub(a, b):
-    return a + b
+    return a - b
*** End Patch""")
    assert result.ok and result.changed_files == ("app.py",)
    assert (repo / "app.py").read_text() == (
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")


def test_add_delete_and_move_in_one_patch(repo: Path) -> None:
    (repo / "old.txt").write_text("x\n")
    result = patch_call(Toolbox(repo), """*** Begin Patch
*** Add File: pkg/new.py
+VALUE = 1
*** Delete File: old.txt
*** Update File: app.py
*** Move to: lib/app.py
@@
 def add(a, b):
-    return a - b
+    return a + b
*** End Patch""")
    assert result.ok, result.text
    assert (repo / "pkg" / "new.py").read_text() == "VALUE = 1\n"
    assert not (repo / "old.txt").exists() and not (repo / "app.py").exists()
    assert "return a + b" in (repo / "lib" / "app.py").read_text()
    assert set(result.changed_files) == {"pkg/new.py", "old.txt", "app.py", "lib/app.py"}


def test_wrong_indentation_and_trailing_spaces_still_match(repo: Path) -> None:
    result = patch_call(Toolbox(repo), """*** Begin Patch
*** Update File: app.py
 def add(a, b):   
-  return a - b
+    return a + b
*** End Patch""")
    assert result.ok, result.text
    assert "    return a + b\n\n\ndef sub" in (repo / "app.py").read_text()


def test_context_that_is_not_there_is_quoted_with_the_closest_lines(repo: Path) -> None:
    before = (repo / "app.py").read_text()
    result = patch_call(Toolbox(repo), """*** Begin Patch
*** Update File: app.py
 def add(x, y):
-    return x - y
+    return x + y
*** End Patch""")
    assert not result.ok and result.changed_files == ()
    assert "In app.py, hunk 1: these lines are not in the file" in result.text
    assert "def add(x, y):" in result.text  # what was looked for
    assert "    1  def add(a, b):" in result.text  # where it most likely is
    assert (repo / "app.py").read_text() == before  # nothing written


def test_a_failing_hunk_leaves_every_file_as_it_was(repo: Path) -> None:
    result = patch_call(Toolbox(repo), """*** Begin Patch
*** Add File: first.py
+x = 1
*** Update File: app.py
-not in the file
+y
*** End Patch""")
    assert not result.ok and not (repo / "first.py").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("*** Update File: app.py\n-a\n+b\n*** End Patch", "must start with the line '*** Begin Patch'"),
    ("*** Begin Patch\n*** Update File: app.py\n-a\n+b", "must end with the line '*** End Patch'"),
    ("*** Begin Patch\n*** Update File: missing.py\n-a\n+b\n*** End Patch",
     "missing.py does not exist: use '*** Add File: missing.py'"),
    ("*** Begin Patch\n*** Add File: app.py\n+x\n*** End Patch", "app.py already exists"),
    ("*** Begin Patch\n*** Add File: new.py\nno plus\n*** End Patch", "starts with '+'"),
    ("*** Begin Patch\nhello\n*** End Patch", "expected '*** Add File: '"),
])
def test_malformed_patches_say_what_to_fix(repo: Path, text: str, message: str) -> None:
    result = patch_call(Toolbox(repo), text)
    assert not result.ok and message in result.text


def test_a_proposal_shows_the_diff_and_writes_nothing(repo: Path) -> None:
    before = (repo / "app.py").read_text()
    proposal = Toolbox(repo).propose("apply_patch", json.dumps({"input": """*** Begin Patch
*** Update File: app.py
-    return a - b
+    return a + b
*** End Patch"""}))
    assert proposal.kind == "edit" and proposal.summary == "edit app.py"
    assert "-    return a - b\n+    return a + b\n" in proposal.diff
    assert (repo / "app.py").read_text() == before
