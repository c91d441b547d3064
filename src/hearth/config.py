"""All of hearth's settings, in one place.

Every setting reads from an environment variable named ``HEARTH_<NAME>`` (for example
``HEARTH_HOME``, ``HEARTH_DATABASE_URL``, ``HEARTH_MODEL``); command-line flags override them.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CHAT_MODEL = "qwen2.5-coder-0.5b-instruct"
# Engines that compute on this machine's cores (``upstream`` sends the work elsewhere).
LOCAL_ENGINES = frozenset({"llamacpp"})
# The embedder's threads each embed some of a message's statements (``hearth.memory.embedder``):
# a message rarely has more than 4 (LoCoMo dev: 4 at p95), and more threads would only wait.
MAX_EMBEDDER_THREADS = 4


def _default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "hearth"


class Settings(BaseSettings):
    """Runtime configuration for the server, the CLI and the benchmarks."""

    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Data folder: models, database.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under home."
    )
    model: str = Field(default=DEFAULT_CHAT_MODEL, description="Catalog id or path of a GGUF file.")
    engine: str = Field(default="llamacpp", description="Engine name in the engine registry.")
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    context_length: int | None = Field(
        default=None, ge=256,
        description="Tokens per sequence; default: what the model was trained for, as far as "
                    "kv_cache_mb allows for every parallel sequence.")
    prefix_cache: bool = Field(
        default=True, description="Reuse the KV cache of the longest cached prompt prefix.")
    kv_cache_mb: int | None = Field(
        default=None, ge=16,
        description="Memory for the KV cache of all sequences together; default: a quarter of "
                    "this machine's memory.")
    parallel: int = Field(default=4, ge=1, le=64, description="Sequences decoded together.")
    max_queue: int = Field(default=64, ge=0, description="Waiting requests before 503.")
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    max_upload_bytes: int = Field(default=100_000_000, ge=1024,
                                  description="Largest file accepted by /v1/files (held in "
                                              "memory while it is checked).")
    max_tokens_limit: int = Field(default=4096, ge=1, description="Largest max_tokens accepted.")
    workers: int = Field(default=1, ge=1, le=64, description="Server processes (hearth serve).")
    energy_watts: float = Field(default=65.0, ge=0,
                                description="CPU power draw for usage energy estimates.")
    purge_interval_seconds: int = Field(default=3600, ge=1,
                                        description="How often the retention purge runs.")
    memory: bool = Field(default=True, description="Remember users who identify themselves.")
    web: bool = Field(default=True, description="Serve the web app at / beside the API.")
    cookie_secure: bool = Field(
        default=True, description="Send the web session cookie over HTTPS only; turn off for "
                                  "a plain-HTTP install on a LAN (127.0.0.1 works either way).")
    memory_extractor: Literal["rules", "llm"] = Field(
        default="rules", description="What finds memories in a message: rules (fast, no model) "
                                     "or llm (the chat model, JSON-schema output; for a model "
                                     "capable enough, the rules answer when it fails).")
    upstream_url: str | None = Field(
        default=None, description="upstream engine: base URL ending in /v1, or several "
                                  "comma-separated replicas of the same model.")
    upstream_api_key: str | None = Field(
        default=None, description="upstream engine: bearer token sent to the upstream.")
    upstream_model: str | None = Field(
        default=None, description="upstream engine: model name to ask for; default: model.")
    upstream_concurrency: int = Field(
        default=512, ge=1, description="upstream engine: requests in flight at once. The "
                                       "upstream batches them itself, so this is far above "
                                       "parallel.")

    tune_worker: bool = Field(
        default=True, description="Start the fine-tuning worker process when jobs wait; turn "
                                  "off to run `python -m hearth.tune.worker` yourself.")
    tune_worker_idle_seconds: float = Field(
        default=60.0, ge=0, description="A fine-tuning worker with no job left exits after "
                                        "this long.")

    embedder_threads: int | None = Field(
        default=None, ge=1, description="Threads that embed memories at once; default: "
                                        "the cores a local engine leaves free (at least 1, at "
                                        f"most {MAX_EMBEDDER_THREADS}).")
    embedder_cache: Path | None = Field(
        default=None, description="Folder for the embedding model's ONNX file, built from the "
                                  "installed package on first use; default: models_dir.")

    @cached_property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def resolved_embedder_cache(self) -> Path:
        return self.embedder_cache or self.models_dir

    @property
    def resolved_embedder_threads(self) -> int:
        """``embedder_threads``, or the cores a local engine leaves free.

        llama.cpp keeps ``threads`` cores busy while it generates (the default: all of them),
        and a thread taken from it stalls the others at every layer, so beside it the embedder
        gets one thread. With no local engine (``upstream``), the memory worker has the cores.
        """
        if self.embedder_threads is not None:
            return self.embedder_threads
        engine_threads = self.threads if self.engine in LOCAL_ENGINES else 0
        free = (os.cpu_count() or 1) - engine_threads
        return max(1, min(MAX_EMBEDDER_THREADS, free))

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hearth.db'}"
