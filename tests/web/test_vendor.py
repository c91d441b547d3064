"""The vendored browser libraries are the released files their manifest names, unmodified."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import hearth.web

VENDOR = Path(hearth.web.__file__).parent / "static" / "vendor"


def test_every_vendored_file_matches_its_manifest_entry() -> None:
    manifest = json.loads((VENDOR / "manifest.json").read_text())["files"]
    for entry in manifest:
        assert {"name", "version", "file", "sha256", "licence"} <= entry.keys()
        digest = hashlib.sha256((VENDOR / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{entry['file']} differs from {entry['name']}@{entry['version']}"


def test_nothing_is_vendored_without_a_manifest_entry() -> None:
    listed = {entry["file"] for entry in json.loads((VENDOR / "manifest.json").read_text())["files"]}
    present = {path.name for path in VENDOR.iterdir()} - {"manifest.json"}
    assert present == listed
