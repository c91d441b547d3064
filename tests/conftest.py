"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import importlib.metadata

import pytest
import toy_qwen2

from hearth.memory import onnx_export
from hearth.memory.embedder import model_dir
from hearth.store.db import Database
from live_server import LiveServer, start_server
from postgres_server import PostgresServer, start_postgres

# The databases hearth runs on; store and API tests run against each.
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", autouse=True)
def embedder_cache(pytestconfig: pytest.Config,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where tests, and the servers they start, keep the embedding model's ONNX file: pytest's
    cache folder, so it is exported once per checkout rather than once per run, and never into
    the real data folder. It is exported here, before any server starts: a server that had to
    export it (15 s or more on a busy 2-core machine) would answer its first memory request
    later than a test waits."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    folder = cache.mkdir("hearth-embedder") if cache else tmp_path_factory.mktemp("embedder")
    model_file = onnx_export.onnx_file(model_dir(), folder)
    if not model_file.exists():
        onnx_export.export(model_dir(), model_file)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HEARTH_EMBEDDER_CACHE", str(folder))
        yield folder


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Factory: start servers for this test; all are stopped afterwards."""
    started: list[LiveServer] = []

    def _start(env: dict[str, str] | None = None, args: list[str] | None = None,
               home: Path | None = None) -> LiveServer:
        server = start_server(home or tmp_path / "home", env, args)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server (with pgvector) for the whole run, started only if a test asks.

    If it cannot start, every PostgreSQL test errors with the reason: they must prove that
    hearth works on PostgreSQL, so they are never skipped.
    """
    server = start_postgres()
    yield server
    server.stop()


@contextmanager
def _fresh_database(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'hearth.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.fresh_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database for this test: a SQLite file, or a database of its
    own on the run's PostgreSQL server."""
    with _fresh_database(request, tmp_path / "db") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``database_url`` shared by a module's tests (for fixtures that are slow to build)."""
    with _fresh_database(request, tmp_path_factory.mktemp("db")) as url:
        yield url


def _migrated(url: str) -> Iterator[Database]:
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database of this test's own, on each backend in turn."""
    yield from _migrated(database_url)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Where ``sqlite_db`` keeps its file: ``hearth.db`` in a ``HEARTH_HOME`` of ``tmp_path``."""
    return tmp_path / "hearth.db"


@pytest.fixture
def sqlite_db(sqlite_path: Path) -> Iterator[Database]:
    """A migrated SQLite file of this test's own, for what only SQLite has (its pragmas, its
    file) and for tests that need no second backend."""
    yield from _migrated(f"sqlite:///{sqlite_path}")


@pytest.fixture(scope="session")
def toy_qwen2_gguf(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy Qwen2 GGUF (toy_qwen2.py; its HF checkpoint beside it), built once per checkout
    into pytest's cache: the first build downloads llama-cpp-python's sdist for the converter."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    version = importlib.metadata.version("llama_cpp_python")
    folder = (cache.mkdir(f"hearth-qwen2-toy-{version}") if cache
              else tmp_path_factory.mktemp("qwen2-toy"))
    model = folder / toy_qwen2.GGUF_NAME
    return model if model.exists() else toy_qwen2.build(folder)
