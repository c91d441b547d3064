"""Writes hearth's dependency locks (requirements/*.txt) with uv: `make lock`.

Each lock pins every package, direct and transitive, for this platform (CPython 3.11 on Linux
x86-64), with the hashes of every file the indexes offer for that version, so that
`pip install --require-hashes` installs the same set on every machine. uv resolves against the
package indexes, find-links folders and constraints that pip is configured with here (`pip config
list`), because pip installs from the lock with that same configuration.

- test.txt: hearth with its `test` and `tune` extras: what `make install` (so `make serve` and
  `make test`) installs; the tests train and export adapters, and a server runs tuning jobs.
- bench.txt: the `bench` extra on top of test.txt, resolved with test.txt as constraints so that it
  installs into the same venv without moving anything.
- gateway.txt: the `gateway` extra alone (LiteLLM's proxy), for a venv of its own.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
PYTHON_VERSION = "3.11"


def pip_settings() -> dict[str, list[str]]:
    """pip's configured index settings, as uv options."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=True,
                            capture_output=True, text=True).stdout
    options: dict[str, list[str]] = {"extra-index-url": [], "find-links": [], "constraint": []}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in options:
            options[name] += shlex.split(value.strip("'\""))
    return options


def compile_lock(uv: str, output: Path, sources: list[str], extra_args: list[str],
                 stdin: str | None = None) -> None:
    settings = pip_settings()
    command = [uv, "pip", "compile", *sources, "--generate-hashes", "--quiet",
               "--python-version", PYTHON_VERSION, "--python-platform", "x86_64-unknown-linux-gnu",
               # pip takes the best version from any index; uv's default takes the first index
               # that has the package at all.
               "--index-strategy", "unsafe-best-match",
               "--custom-compile-command", "make lock", "-o", str(output), *extra_args]
    for name, values in settings.items():
        for value in values:
            command += [f"--{name}", value]
    subprocess.run(command, check=True, cwd=ROOT, input=stdin, text=True)
    print(f"wrote {output.relative_to(ROOT)}")


def main() -> None:
    uv = sys.argv[1] if len(sys.argv) > 1 else "uv"
    LOCKS.mkdir(exist_ok=True)
    compile_lock(uv, LOCKS / "test.txt", ["pyproject.toml"], ["--extra", "test", "--extra", "tune"])
    compile_lock(uv, LOCKS / "bench.txt", ["pyproject.toml"],
                 ["--extra", "test", "--extra", "tune", "--extra", "bench", "--constraint",
                  "requirements/test.txt"])
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    compile_lock(uv, LOCKS / "gateway.txt", ["-"], [], stdin="\n".join(extras["gateway"]) + "\n")


if __name__ == "__main__":
    main()
