"""The lock (requirements/*.txt) matches pyproject.toml, and the check that ``make install``
runs on a venv (scripts/check_installed.py) catches every way a venv can differ from it."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _check_installed():
    spec = importlib.util.spec_from_file_location("check_installed",
                                                  ROOT / "scripts" / "check_installed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _check_installed()


@pytest.mark.parametrize(("lock", "extras"), [("test.txt", ["test", "tune"]),
                                              ("bench.txt", ["test", "tune", "bench"]),
                                              ("gateway.txt", [])])
def test_each_lock_pins_a_version_in_range_of_every_declared_dependency(
        lock: str, extras: list[str]) -> None:
    """A dependency added or changed in pyproject.toml without `make lock` fails here."""
    pins = check.locked(ROOT / "requirements" / lock)
    declared = ([] if lock == "gateway.txt" else PROJECT["dependencies"])
    for extra in extras or ["gateway"]:
        declared = declared + PROJECT["optional-dependencies"][extra]
    for line in declared:
        requirement = Requirement(line)
        name = check.canonical(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements/{lock}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"requirements/{lock} pins {name}=={pins[name]}, outside {line!r}: run make lock"


def test_the_bench_lock_installs_on_top_of_the_test_lock_without_moving_anything() -> None:
    test = check.locked(ROOT / "requirements" / "test.txt")
    bench = check.locked(ROOT / "requirements" / "bench.txt")
    assert {name: bench[name] for name in test} == test


def test_the_installed_check_names_each_difference() -> None:
    lock = {"numpy": "2.4.6", "torch": "2.13.0+cpu", "rich": "15.0.0"}
    present = {"numpy": "2.4.5", "rich": "15.0.0", "requests": "2.32.0", "pip": "26.0.1",
               "openhearth": "0.1.0"}
    assert check.differences(lock, present) == [
        "numpy==2.4.6 is locked but 2.4.5 is installed",
        "torch==2.13.0+cpu is locked but not installed",
        "requests 2.32.0 is installed but not in the lock",
    ]
    assert check.differences(lock, {**lock, "pip": "26.0.1"}) == []


def test_pins_are_read_with_extras_markers_and_continuations(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("Uvicorn[standard]==0.55.0 \\\n    --hash=sha256:ab\n"
                    "typing_extensions==4.16.0 ; python_version < '3.13' \\\n"
                    "    --hash=sha256:cd\n    # via pydantic\n")
    assert check.locked(lock) == {"uvicorn": "0.55.0", "typing-extensions": "4.16.0"}
