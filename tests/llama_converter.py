"""llama.cpp's convert_hf_to_gguf.py, as shipped in the sdist of the installed llama-cpp-python,
so the converter that writes a test's toy GGUF matches the llama.cpp that loads it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

_CONVERTER_PARTS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def converter(folder: Path) -> Path:
    """convert_hf_to_gguf.py (with its ``conversion/`` and ``gguf-py/``) under ``folder``,
    extracted from llama-cpp-python's sdist the first time."""
    script = folder / "convert_hf_to_gguf.py"
    if script.exists():
        return script
    version = importlib.metadata.version("llama_cpp_python")
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", f"llama-cpp-python=={version}", "-d", download],
                       check=True, timeout=600)
        sdist = next(Path(download).glob("*.tar.gz"))
        prefix = f"{sdist.name.removesuffix('.tar.gz')}/vendor/llama.cpp/"
        with tarfile.open(sdist) as tar:
            members = []
            for member in tar.getmembers():
                if member.name.startswith(prefix) and member.isfile():
                    inner = member.name.removeprefix(prefix)
                    if inner.startswith(_CONVERTER_PARTS):
                        member.name = inner
                        members.append(member)
            tar.extractall(folder, members=members, filter="data")
    return script
