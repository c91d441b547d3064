"""``hearth models``: list, pull and verify, with one red line and exit code 1 on a bad file."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hearth.cli.models import app
from hearth.engines import catalog, model_files
from hearth.engines.catalog import CatalogModel, ChunkPackage

TINY = "tiny-cli-model"
CHUNKS = [b"GGUF" + b"\x01" * 3000, b"\x02" * 2000]
runner = CliRunner()


def wheel_bytes(module: str, chunk: bytes) -> bytes:
    """A minimal wheel with the chunk packages' layout (module/data/partNN.bin)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "raise RuntimeError('never imported')\n")
        zf.writestr(f"{module}/data/part01.bin", chunk)
    return buf.getvalue()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HEARTH_HOME in tmp_path, a two-chunk model in the catalog, and pip swapped for a copy."""
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))
    data = b"".join(CHUNKS)
    packages = tuple(ChunkPackage(f"tiny-cli-part{n}", "1.0.0") for n in (1, 2))
    monkeypatch.setitem(
        catalog.CATALOG,
        TINY,
        CatalogModel(TINY, "test", packages, len(data), hashlib.sha256(data).hexdigest(), "chat"),
    )

    def fake_pip_download(pins: list[str], dest: Path, *, quiet: bool) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for pkg, chunk in zip(packages, CHUNKS):
            if pkg.pin in pins:
                whl = dest / f"{pkg.module}-1.0.0-py3-none-any.whl"
                whl.write_bytes(wheel_bytes(pkg.module, chunk))

    monkeypatch.setattr(model_files, "_pip_download", fake_pip_download)
    return tmp_path


def test_list_shows_every_catalog_model_and_whether_it_is_downloaded(home: Path) -> None:
    runner.invoke(app, ["pull", TINY])

    result = runner.invoke(app, ["list"])

    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert set(rows) == set(catalog.catalog_ids())
    assert rows[TINY].split()[-2] == "yes"
    qwen = rows["qwen2.5-coder-0.5b-instruct"].split()
    assert qwen[3:6] == ["chat", "│", "491"] and qwen[-2] == "no"
    assert f"Models folder: {home / 'models'}" in result.output
    assert "Default chat model: qwen2.5-coder-0.5b-instruct" in result.output


def test_list_marks_a_file_changed_since_its_check_as_not_verified(home: Path) -> None:
    runner.invoke(app, ["pull", TINY])
    (home / "models" / f"{TINY}.gguf").write_bytes(b"GGUF" + b"\x00" * 10)

    row = next(line for line in runner.invoke(app, ["list"]).output.splitlines() if TINY in line)
    assert "not verified" in row


def test_pull_then_verify_print_the_verified_path(home: Path) -> None:
    path = home / "models" / f"{TINY}.gguf"

    pulled = runner.invoke(app, ["pull", TINY])
    verified = runner.invoke(app, ["verify", TINY])

    assert pulled.exit_code == 0, pulled.output
    assert path.read_bytes() == b"".join(CHUNKS)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout == f"{TINY}: sha256 verified, {path}\n"


def test_tampered_model_prints_one_red_line_and_exits_1(home: Path) -> None:
    runner.invoke(app, ["pull", TINY])
    path = home / "models" / f"{TINY}.gguf"
    path.write_bytes(b"GGUF" + b"\x00" * (path.stat().st_size - 4))

    result = runner.invoke(app, ["verify", TINY], color=True)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("\x1b[31m")  # red
    assert result.stderr.count("\n") == 1
    assert "does not match its sha256" in result.stderr
    assert f"run `hearth models pull {TINY} --force`" in result.stderr
    assert "Traceback" not in result.output


def test_verifying_a_model_that_was_never_pulled_says_how_to_pull_it(home: Path) -> None:
    result = runner.invoke(app, ["verify", TINY])

    assert result.exit_code == 1
    assert result.stderr == f"Model '{TINY}' is not downloaded: run `hearth models pull {TINY}`.\n"


def test_pulling_an_unknown_model_exits_1_and_lists_the_catalog(home: Path) -> None:
    result = runner.invoke(app, ["pull", "llama-9000"])

    assert result.exit_code == 1
    assert result.stderr.startswith("Unknown model 'llama-9000': choose one of ")
    assert "qwen2.5-coder-0.5b-instruct" in result.stderr
    assert result.stderr.count("\n") == 1


def test_verify_accepts_a_local_gguf_file(home: Path) -> None:
    local = home / "mine.gguf"
    local.write_bytes(b"GGUF" + b"\x00" * 16)

    result = runner.invoke(app, ["verify", str(local)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{local}: starts like a GGUF file")
