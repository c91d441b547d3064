"""Model weights on disk: assemble catalog GGUF files from their PyPI chunk packages, and refuse
any file that is missing, truncated or not byte-for-byte the one the catalog names.

The chunk packages are untrusted data: their code is never imported or run (installed ones are
found through their dist-info, downloaded wheels are read as zip files), and the assembled file
is used only once its size and sha256 match the catalog.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from hearth.engines import catalog
from hearth.engines.catalog import CatalogModel, ChunkPackage
from hearth.errors import ModelFileError, ModelNotFound

GGUF_MAGIC = b"GGUF"
# What a model placed in the models folder may be called: a file name, never a path.
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_BLOCK = 1 << 20


def resolve_model_path(model: str, models_dir: Path) -> Path:
    """The GGUF file to load for ``model``: a catalog id or the path of a local .gguf file.

    A catalog file is checked for size and sha256; the result is remembered in a stamp file
    keyed by size and mtime, so a server start does not re-hash it unless it changed.
    Raises ModelFileError, whose one-line message says how to fix the problem.
    """
    entry = catalog.lookup(model)
    if entry is not None:
        return _check_catalog_file(entry, models_dir, trust_stamp=True)
    return _check_local_file(model)


def verify(model: str, models_dir: Path) -> Path:
    """Like ``resolve_model_path`` but always re-hashes a catalog file, ignoring its stamp."""
    entry = catalog.lookup(model)
    if entry is not None:
        return _check_catalog_file(entry, models_dir, trust_stamp=False)
    return _check_local_file(model)


def installed_model_path(model_id: str, models_dir: Path) -> Path:
    """The GGUF on this machine of the model a client names ``model_id``: a catalog model that
    was pulled (checked as ``resolve_model_path`` checks it), or a GGUF file the operator put
    in the models folder as ``<id>.gguf`` (weights the catalog does not ship).

    Unlike ``resolve_model_path`` it never takes a path: a client names a model, it does not
    point the server at a file. Raises ModelNotFound when there is no such model here.
    """
    entry = catalog.lookup(model_id)
    if entry is not None:
        if not _target(entry, models_dir).is_file():
            raise ModelNotFound(f"Model {model_id!r} is not pulled on this server: run "
                                f"`hearth models pull {model_id}` there first.", param="model")
        return _check_catalog_file(entry, models_dir, trust_stamp=True)
    placed = models_dir / f"{model_id}.gguf"
    if not MODEL_NAME.match(model_id) or not placed.is_file():
        raise ModelNotFound(f"No model {model_id!r} on this server: name a pulled catalog model "
                            f"({', '.join(catalog.catalog_ids())}) or a GGUF file placed in "
                            f"{models_dir} as <name>.gguf.", param="model")
    return _check_local_file(str(placed))


def is_verified(model_id: str, models_dir: Path) -> bool:
    """Whether the catalog file is present with a fresh verification stamp (reads no weights)."""
    entry = catalog.lookup(model_id)
    return entry is not None and _stamp_is_fresh(entry, _target(entry, models_dir))


def model_path(model_id: str, models_dir: Path) -> Path:
    """Where the catalog model ``model_id`` lives once pulled (it may not exist yet)."""
    return _target(_require_entry(model_id), models_dir)


def pull(model_id: str, models_dir: Path, *, force: bool = False, progress: bool = True) -> Path:
    """Assemble the catalog model into ``models_dir/<id>.gguf`` and return its path.

    A file already there that verifies is kept unless ``force``. Chunk packages installed in this
    environment are read in place; the others are fetched with ``pip download`` into
    ``models_dir/.wheels`` and deleted afterwards. ``progress`` shows pip's output and a progress
    bar (the bar only on a terminal, so CI logs stay clean).
    """
    entry = _require_entry(model_id)
    target = _target(entry, models_dir)
    if not force and target.exists():
        try:
            return _check_catalog_file(entry, models_dir, trust_stamp=True)
        except ModelFileError:
            pass  # a broken file is exactly what pull repairs
    models_dir.mkdir(parents=True, exist_ok=True)
    wheels_dir = models_dir / ".wheels" / entry.id
    try:
        chunks = _chunk_sources(entry, wheels_dir, quiet=not progress)
        _assemble(entry, chunks, target, progress=progress)
    finally:
        shutil.rmtree(wheels_dir, ignore_errors=True)
        with suppress(OSError):
            wheels_dir.parent.rmdir()  # only if no other pull is using it
    return target


# --- checking files -------------------------------------------------------------------------


def _require_entry(model_id: str) -> CatalogModel:
    entry = catalog.lookup(model_id)
    if entry is None:
        raise ModelFileError(
            f"Unknown model {model_id!r}: choose one of {', '.join(catalog.catalog_ids())}."
        )
    return entry


def _target(entry: CatalogModel, models_dir: Path) -> Path:
    return models_dir / f"{entry.id}.gguf"


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _check_catalog_file(entry: CatalogModel, models_dir: Path, *, trust_stamp: bool) -> Path:
    target = _target(entry, models_dir)
    fix = f"run `hearth models pull {entry.id} --force`."
    if not target.is_file():
        raise ModelFileError(
            f"Model {entry.id!r} is not downloaded: run `hearth models pull {entry.id}`."
        )
    size = target.stat().st_size
    if size < entry.size:
        raise ModelFileError(
            f"Model {entry.id!r} at {target} is truncated ({size} of {entry.size} bytes): {fix}"
        )
    if size > entry.size:
        raise ModelFileError(
            f"Model {entry.id!r} at {target} is larger than it should be "
            f"({size} instead of {entry.size} bytes): {fix}"
        )
    if trust_stamp and _stamp_is_fresh(entry, target):
        return target
    if _sha256_of(target) != entry.sha256:
        _stamp_path(target).unlink(missing_ok=True)
        raise ModelFileError(
            f"Model {entry.id!r} at {target} does not match its sha256 "
            f"(file changed or corrupt): {fix}"
        )
    _write_stamp(entry, target)
    return target


def _check_local_file(model: str) -> Path:
    path = Path(model).expanduser()
    choices = f"pass a catalog id ({', '.join(catalog.catalog_ids())}) or the path of a .gguf file"
    if not path.exists():
        if path.suffix == ".gguf" or os.sep in model:
            raise ModelFileError(f"Model file {path} does not exist: {choices}.")
        raise ModelFileError(f"Unknown model {model!r}: {choices}.")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a file: {choices}.")
    with path.open("rb") as f:
        if f.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise ModelFileError(f"{path} is not a GGUF file (no GGUF magic bytes): {choices}.")
    return path


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_is_fresh(entry: CatalogModel, target: Path) -> bool:
    """True if the stamp records a verification of this very file (same size and mtime)."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": entry.sha256}


def _write_stamp(entry: CatalogModel, target: Path) -> None:
    st = target.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": entry.sha256}
    try:
        _stamp_path(target).write_text(json.dumps(stamp))
    except OSError:
        pass  # a read-only models folder only costs a re-hash next time


# --- finding chunks -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """One chunk file, wherever it lives; ``open()`` is a context manager over its bytes."""

    name: str
    size: int
    open: Callable[[], AbstractContextManager[BinaryIO]]


def _chunk_sources(entry: CatalogModel, wheels_dir: Path, *, quiet: bool) -> list[_Chunk]:
    """The chunks of ``entry`` in order: from installed packages, else from downloaded wheels."""
    found = {pkg: _installed_chunks(pkg, entry.chunk_glob) for pkg in entry.packages}
    missing = [pkg for pkg, chunks in found.items() if chunks is None]
    if missing:
        _pip_download([pkg.pin for pkg in missing], wheels_dir, quiet=quiet)
        for pkg in missing:
            found[pkg] = _wheel_chunks(pkg, wheels_dir, entry.chunk_glob)
    return [chunk for pkg in entry.packages for chunk in found[pkg] or []]


def _installed_chunks(pkg: ChunkPackage, glob: str) -> list[_Chunk] | None:
    """Chunks of ``pkg`` if that exact version is installed; located via its RECORD, which,
    unlike importlib.resources, does not import (run) the package."""
    try:
        dist = importlib.metadata.distribution(pkg.name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != pkg.version or not dist.files:
        return None
    chunks = []
    for rel in sorted(dist.files, key=str):
        if rel.parts[:-1] == (pkg.module, "data") and _is_chunk(rel.name, glob):
            path = Path(str(dist.locate_file(rel)))
            if not path.is_file():
                return None
            chunks.append(_Chunk(str(path), path.stat().st_size, partial(path.open, "rb")))
    return chunks or None


def _wheel_chunks(pkg: ChunkPackage, wheels_dir: Path, glob: str) -> list[_Chunk]:
    """Chunks of ``pkg`` read straight out of its wheel (a zip), so nothing is installed."""
    wheels = sorted(wheels_dir.glob(f"{pkg.module}-{pkg.version}-*.whl"))
    if not wheels:
        raise ModelFileError(f"pip did not produce a wheel for {pkg.pin} in {wheels_dir}.")
    wheel, prefix = wheels[0], f"{pkg.module}/data/"
    with zipfile.ZipFile(wheel) as zf:
        members = sorted(
            (m for m in zf.infolist() if m.filename.startswith(prefix)),
            key=lambda m: m.filename,
        )
    chunks = [
        _Chunk(m.filename, m.file_size, partial(_open_zip_member, wheel, m.filename))
        for m in members
        if _is_chunk(m.filename.removeprefix(prefix), glob)
    ]
    if not chunks:
        raise ModelFileError(f"Wheel {wheel.name} holds no chunk files matching {glob!r}.")
    return chunks


@contextmanager
def _open_zip_member(wheel: Path, member: str) -> Iterator[BinaryIO]:
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as stream:
        yield stream  # type: ignore[misc]


def _is_chunk(name: str, glob: str) -> bool:
    """Whether ``name`` (relative to a data/ folder) is a chunk; sub-folders never are."""
    return "/" not in name and fnmatch.fnmatchcase(name, glob)


def _pip_download(pins: list[str], dest: Path, *, quiet: bool) -> None:
    """Fetch wheels without dependencies; ``--only-binary`` because building an sdist would run
    the package's code."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--dest", str(dest), *pins]
    if quiet:
        cmd.append("-q")
    result = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        why = f" ({detail[-1].strip()})" if detail else ""
        raise ModelFileError(
            f"pip could not download {', '.join(pins)}{why}: check access to PyPI and retry."
        )


# --- assembling -----------------------------------------------------------------------------


def _assemble(entry: CatalogModel, chunks: list[_Chunk], target: Path, *, progress: bool) -> None:
    """Concatenate ``chunks`` into ``target`` via a .part file, hashing as it writes, and
    rename it into place only once size and sha256 match."""
    declared = sum(chunk.size for chunk in chunks)
    if declared != entry.size:  # fail before writing hundreds of MB
        raise _wrong_package_size(entry, declared)
    part_file = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    written = 0
    done = False
    try:
        with part_file.open("wb") as out, _progress_bar(entry, progress) as advance:
            for chunk in chunks:
                with chunk.open() as src:
                    while block := src.read(_BLOCK):
                        written += len(block)
                        if written > entry.size:  # a chunk bigger than its zip header said
                            raise _wrong_package_size(entry, written)
                        digest.update(block)
                        out.write(block)
                        advance(len(block))
        if written != entry.size:
            raise _wrong_package_size(entry, written)
        if digest.hexdigest() != entry.sha256:
            raise ModelFileError(
                f"The packages for {entry.id!r} do not match the catalog's sha256 "
                "(changed upstream or tampered with): the model was not installed."
            )
        os.replace(part_file, target)
        _write_stamp(entry, target)
        done = True
    finally:
        if not done:
            part_file.unlink(missing_ok=True)


def _wrong_package_size(entry: CatalogModel, size: int) -> ModelFileError:
    return ModelFileError(
        f"The packages for {entry.id!r} hold {size} bytes, not {entry.size}: they are not the "
        "catalog's model (changed upstream or tampered with), so it was not installed."
    )


@contextmanager
def _progress_bar(entry: CatalogModel, enabled: bool) -> Iterator[Callable[[int], None]]:
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
        transient=True,
    ) as bar:
        task = bar.add_task(f"Assembling {entry.id}", total=entry.size)
        yield lambda n: bar.advance(task, n)
