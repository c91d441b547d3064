"""The session's changes as git sees them: one diff, a commit per change, and undo.

Before each change the agent takes a snapshot of the work tree as a commit object that no
branch points to (what Codex calls a ghost commit): a temporary index, ``git add -A``,
``write-tree``, ``commit-tree``. The user's index, branches and stash are never touched. The
session's diff is the work tree against its first snapshot, and ``undo`` puts back the files of
the last change as its snapshot held them, whether or not that change was committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hearth.errors import HearthError


class GitError(HearthError):
    """A git command failed: the message carries git's own words."""


@dataclass(frozen=True)
class Change:
    """One applied change: the files it wrote, the snapshot before it, its commit if any."""

    files: tuple[str, ...]
    before: str
    commit: str | None = None


class GitWorkspace:
    def __init__(self, root: Path):
        self.root = root
        self.start = self.snapshot()
        self.changes: list[Change] = []

    def _git(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=60, check=False)
        if check and done.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def _head(self) -> str | None:
        out = self._git("rev-parse", "--verify", "-q", "HEAD", check=False).strip()
        return out or None

    def snapshot(self) -> str:
        """A commit object of the work tree as it is now (untracked files included)."""
        with tempfile.TemporaryDirectory() as folder:
            index = str(Path(folder) / "index")
            real_index = self.root / self._git("rev-parse", "--git-path", "index").strip()
            if real_index.is_file():
                shutil.copyfile(real_index, index)
            env = {"GIT_INDEX_FILE": index}
            self._git("add", "-A", env=env)
            tree = self._git("write-tree", env=env).strip()
        head = self._head()
        parents = ["-p", head] if head else []
        return self._git("commit-tree", tree, *parents, "-m", "hearth code snapshot",
                         env={"GIT_AUTHOR_NAME": "hearth code", "GIT_AUTHOR_EMAIL": "code@hearth",
                              "GIT_COMMITTER_NAME": "hearth code",
                              "GIT_COMMITTER_EMAIL": "code@hearth"}).strip()

    def diff(self) -> str:
        """Everything the session changed, as one unified diff."""
        return self._git("diff", self.start, self.snapshot())

    def changed_since(self, before: str) -> tuple[str, ...]:
        """Files that differ between the snapshot ``before`` and the work tree now."""
        names = self._git("diff", "--name-only", "-z", before, self.snapshot())
        return tuple(name for name in names.split("\0") if name)

    def record(self, files: tuple[str, ...], before: str, *, commit_message: str | None) -> Change:
        """Note a change that was applied; commit its files when asked."""
        commit = None
        if commit_message is not None:
            self._git("add", "-A", "--", *files)
            self._git("commit", "-q", "--no-verify", "-m", commit_message, "--", *files)
            commit = self._head()
        change = Change(files, before, commit)
        self.changes.append(change)
        return change

    def undo(self) -> Change | None:
        """Put back the files of the last change as they were before it; None if none is left."""
        if not self.changes:
            return None
        change = self.changes.pop()
        if change.commit is not None and self._head() == change.commit:
            self._git("reset", "-q", "--soft", "HEAD~1")
            self._git("reset", "-q", "--", *change.files)
        for name in change.files:
            path = self.root / name
            blob = subprocess.run(["git", "cat-file", "blob", f"{change.before}:{name}"],
                                  cwd=self.root, capture_output=True, check=False)
            if blob.returncode == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob.stdout)
            elif path.exists():  # the change created it
                path.unlink()
        return change

