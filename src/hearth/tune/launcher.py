"""The fine-tuning worker, one per machine: its lock, and starting it when jobs wait.

Training must never run in a server's event loop or hold up chat, so it runs in a process of
its own (``python -m hearth.tune.worker``). Whoever queues a job (a server, at a job's
creation and at start-up when jobs wait) starts one unless one runs; the worker holds an
exclusive lock on a file in the data folder for as long as it lives, so a second server, a
second worker or a race between two starts never trains two jobs at once on one machine. The
lock is the kernel's (``flock``): it goes with the process, however that process ends.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hearth.config import Settings

# A worker just started by one server may find another server's probe holding the lock for
# an instant; it tries again this long before deciding another worker runs.
LOCK_PATIENCE_SECONDS = 2.0


def tune_folder(home: Path) -> Path:
    """Where fine-tuning keeps its jobs, its worker's lock and log."""
    return Path(home) / "tune"


def worker_log(home: Path) -> Path:
    return tune_folder(home) / "worker.log"


def jobs_folder(home: Path) -> Path:
    """Where each job's folder (its data, checkpoints and adapter) is made."""
    return tune_folder(home) / "jobs"


@contextmanager
def worker_lock(home: Path, patience: float = 0.0) -> Iterator[bool]:
    """Hold the machine's worker lock while the block runs; yields False, holding nothing, if
    another process holds it (after trying for ``patience`` seconds)."""
    path = tune_folder(home) / "worker.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + patience
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_running(home: Path) -> bool:
    """Whether a worker holds this machine's lock now."""
    with worker_lock(home) as free:
        return not free


class WorkerLauncher:
    """Starts the worker for a server when jobs wait and none runs (``HEARTH_TUNE_WORKER``
    turns this off, for tests that run the worker by hand)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    def ensure_running(self) -> subprocess.Popen[bytes] | None:
        """Start a worker unless one runs; the process this call started, if it did."""
        if not self.settings.tune_worker:
            return None
        if self._process is not None and self._process.poll() is None:
            return None
        home = self.settings.home
        if worker_running(home):
            return None
        # The worker reads its settings from the environment: hand it this server's data.
        environment = {**os.environ, "HEARTH_HOME": str(home),
                       "HEARTH_DATABASE_URL": self.settings.resolved_database_url}
        with worker_log(home).open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "hearth.tune.worker"], env=environment,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # a server's Ctrl-C does not stop a training run
        return self._process
