"""apply_patch: Codex's envelope applied leniently, all or nothing, with errors that say
what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.agent.tools import Toolbox, ToolCallError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text(
        "import os\n\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"
        "    return a - b\n")
    return root


def patch(toolbox: Toolbox, body: str):
    return toolbox.call("apply_patch", json.dumps({"input": body}))


def tools(root: Path) -> Toolbox:
    return Toolbox(root, allow_shell=False)


def test_add_file_creates_it_with_folders(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Add File: pkg/new.py\n+x = 1\n+y = 2\n"
                                "*** End Patch")
    assert result.ok, result.text
    assert (repo / "pkg/new.py").read_text() == "x = 1\ny = 2\n"
    assert result.changed_files == ("pkg/new.py",)


def test_update_with_two_hunks_changes_both_places(repo: Path) -> None:
    result = patch(tools(repo), """*** Begin Patch
*** Update File: app.py
@@ def add(a, b):
-    return a + b
+    return b + a
@@ def sub(a, b):
-    return a - b
+    return -(b - a)
*** End Patch""")
    assert result.ok, result.text
    text = (repo / "app.py").read_text()
    assert "    return b + a\n" in text and "    return -(b - a)\n" in text
    assert "a + b" not in text and "a - b" not in text


def test_update_matches_despite_wrong_indentation_and_trailing_spaces(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: app.py\n@@\n"
                                "  def sub(a, b):   \n-return a - b\n+    return 0\n*** End Patch")
    assert result.ok, result.text
    assert (repo / "app.py").read_text().endswith("def sub(a, b):\n    return 0\n")


def test_update_without_at_at_and_with_end_of_file_marker(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: app.py\n"
                                "     return a - b\n+\n+\n+VERSION = 2\n*** End of File\n"
                                "*** End Patch")
    assert result.ok, result.text
    assert (repo / "app.py").read_text().endswith("    return a - b\n\n\nVERSION = 2\n")


def test_delete_and_move(repo: Path) -> None:
    (repo / "old.txt").write_text("bye\n")
    result = patch(tools(repo), """*** Begin Patch
*** Delete File: old.txt
*** Update File: app.py
*** Move to: src/calc.py
@@
-import os
+import sys
*** End Patch""")
    assert result.ok, result.text
    assert not (repo / "old.txt").exists() and not (repo / "app.py").exists()
    assert (repo / "src/calc.py").read_text().startswith("import sys\n\n\ndef add")
    assert set(result.changed_files) == {"old.txt", "app.py", "src/calc.py"}


def test_heredoc_wrapper_is_accepted(repo: Path) -> None:
    result = patch(tools(repo), "<<'EOF'\n*** Begin Patch\n*** Add File: a.txt\n+a\n"
                                "*** End Patch\nEOF")
    assert result.ok, result.text
    assert (repo / "a.txt").read_text() == "a\n"


def test_context_not_found_names_file_hunk_and_closest_lines(repo: Path) -> None:
    before = (repo / "app.py").read_text()
    result = patch(tools(repo), """*** Begin Patch
*** Add File: created.txt
+should not be written
*** Update File: app.py
@@ def add(a, b):
-    return a + b
+    return a + b + 0
@@
-    return a * b
+    return 0
*** End Patch""")
    assert not result.ok
    assert "Hunk 2 for app.py" in result.text
    assert "    return a * b" in result.text  # what the model sent
    assert "closest lines in app.py (line 9)" in result.text
    assert "    return a - b" in result.text  # what the file says there
    # All or nothing: the first hunk and the added file were not written either.
    assert (repo / "app.py").read_text() == before
    assert not (repo / "created.txt").exists()


def test_missing_at_at_context_line_is_reported(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: app.py\n@@ def mul(a, b):\n"
                                "-    return a * b\n+    return 0\n*** End Patch")
    assert not result.ok
    assert "'@@ def mul(a, b):' was not found in app.py" in result.text


def test_update_of_missing_file_says_to_add_it(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: nope.py\n@@\n-a\n+b\n"
                                "*** End Patch")
    assert not result.ok
    assert "Cannot update nope.py: there is no such file" in result.text
    assert "*** Add File: nope.py" in result.text


def test_delete_of_missing_file_is_an_error(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Delete File: nope.py\n*** End Patch")
    assert not result.ok and "Cannot delete nope.py: there is no such file" in result.text


@pytest.mark.parametrize(("body", "expected"), [
    ("*** Update File: app.py\n@@\n-a\n+b\n*** End Patch",
     "The first line of the patch must be '*** Begin Patch'"),
    ("*** Begin Patch\n*** Update File: app.py\n@@\n-a\n+b\n",
     "The last line of the patch must be '*** End Patch'"),
    ("*** Begin Patch\n*** Change File: app.py\n*** End Patch",
     "Line 2 of the patch, '*** Change File: app.py', is not a valid section header"),
    ("*** Begin Patch\n*** Update File: app.py\n*** End Patch",
     "'*** Update File: app.py' section (line 2) has no changes"),
    ("*** Begin Patch\n*** Update File: app.py\n@@\n-import os\nimport sys\n*** End Patch",
     "Line 5 of the patch, 'import sys'"),
    ("*** Begin Patch\n*** End Patch", "The patch is empty"),
])
def test_malformed_envelope_says_what_is_wrong(repo: Path, body: str, expected: str) -> None:
    before = (repo / "app.py").read_text()
    result = patch(tools(repo), body)
    assert not result.ok
    assert expected in result.text
    assert (repo / "app.py").read_text() == before


def test_propose_shows_the_diff_and_writes_nothing(repo: Path) -> None:
    before = (repo / "app.py").read_text()
    body = ("*** Begin Patch\n*** Update File: app.py\n@@ def add(a, b):\n-    return a + b\n"
            "+    return sum((a, b))\n*** Add File: notes.md\n+hello\n*** End Patch")
    proposal = tools(repo).propose("apply_patch", json.dumps({"input": body}))
    assert proposal.kind == "edit"
    assert proposal.summary == "edit app.py, add notes.md"
    assert proposal.diff is not None
    assert "--- a/app.py\n+++ b/app.py\n" in proposal.diff
    assert "-    return a + b\n+    return sum((a, b))\n" in proposal.diff
    assert "--- /dev/null\n+++ b/notes.md\n" in proposal.diff
    assert (repo / "app.py").read_text() == before and not (repo / "notes.md").exists()


def test_propose_raises_for_a_patch_that_does_not_apply(repo: Path) -> None:
    body = "*** Begin Patch\n*** Update File: app.py\n@@\n-nothing like it\n+x\n*** End Patch"
    with pytest.raises(ToolCallError, match="were not found in app.py"):
        tools(repo).propose("apply_patch", json.dumps({"input": body}))


def test_padded_markers_and_a_second_section_after_an_update(repo: Path) -> None:
    result = patch(tools(repo), " *** Begin Patch\n  *** Update File: app.py  \n@@\n-import os\n"
                                "+import re\n  *** Add File: b.txt\n+b\n *** End Patch ")
    assert result.ok, result.text
    assert (repo / "app.py").read_text().startswith("import re\n")
    assert (repo / "b.txt").read_text() == "b\n"


def test_add_file_lines_without_plus_are_reported(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Add File: c.py\n+x = 1\ny = 2\n"
                                "*** End Patch")
    assert not result.ok
    assert "Line 4 of the patch, 'y = 2', in the section '*** Add File: c.py': every line of " \
           "a new file must start with '+'" in result.text
    assert not (repo / "c.py").exists()


def test_windows_line_ends_are_kept(repo: Path) -> None:
    (repo / "win.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: win.txt\n@@\n one\n-two\n"
                                "+2\n*** End Patch")
    assert result.ok, result.text
    assert (repo / "win.txt").read_bytes() == b"one\r\n2\r\nthree\r\n"


def test_typographic_quotes_in_the_file_match_plain_ones_in_the_patch(repo: Path) -> None:
    (repo / "q.py").write_text("msg = \u201chello\u201d  # \u2014 note\n")
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: q.py\n@@\n"
                                "-msg = \"hello\"  # - note\n+msg = 'hi'\n*** End Patch")
    assert result.ok, result.text
    assert (repo / "q.py").read_text() == "msg = 'hi'\n"


def test_unified_diff_hunk_headers_are_accepted(repo: Path) -> None:
    result = patch(tools(repo), """*** Begin Patch
*** Update File: app.py
@@ -4,2 +4,2 @@ def add(a, b):
-    return a + b
+    return a + b + 1
@@ -8,2 +8,2 @@
-    return a - b
+    return a - b - 1
\\ No newline at end of file
*** End Patch""")
    assert result.ok, result.text
    text = (repo / "app.py").read_text()
    assert "    return a + b + 1\n" in text and text.endswith("    return a - b - 1\n")


def test_two_insertions_at_the_end_keep_their_order(repo: Path) -> None:
    result = patch(tools(repo), "*** Begin Patch\n*** Update File: app.py\n@@\n+A = 1\n@@\n"
                                "+B = 2\n*** End Patch")
    assert result.ok, result.text
    assert (repo / "app.py").read_text().endswith("    return a - b\nA = 1\nB = 2\n")


def test_diff_of_a_file_without_final_newline_is_well_formed(repo: Path) -> None:
    (repo / "n.txt").write_text("a\nb")
    proposal = tools(repo).propose("write_file", json.dumps({"path": "n.txt",
                                                            "content": "a\nc\n"}))
    assert proposal.diff == ("--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
                             "\\ No newline at end of file\n+c\n")
