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
    context_length: int = Field(default=4096, ge=256, description="Tokens per sequence.")
    parallel: int = Field(default=4, ge=1, le=64, description="Sequences decoded together.")
    max_queue: int = Field(default=64, ge=0, description="Waiting requests before 503.")
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    max_tokens_limit: int = Field(default=4096, ge=1, description="Largest max_tokens accepted.")
    workers: int = Field(default=1, ge=1, le=64, description="Server processes (hearth serve).")
    energy_watts: float = Field(default=65.0, ge=0,
                                description="CPU power draw for usage energy estimates.")
    purge_interval_seconds: int = Field(default=3600, ge=1,
                                        description="How often the retention purge runs.")
    memory: bool = Field(default=True, description="Remember users who identify themselves.")
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
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hearth.db'}"
