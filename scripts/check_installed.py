"""Checks that this Python's environment holds exactly a lock's packages: `make install` runs it.

Exactly: every locked package at its locked version, and nothing else installed but hearth itself
and the installer's own tools. Then `pip check`, so a lock that broke a requirement is caught
here rather than at the first import.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# The installer's own packages, which a venv has whatever the lock says.
INSTALLER = {"pip", "setuptools", "wheel"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    return {canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def differences(lock: dict[str, str], present: dict[str, str]) -> list[str]:
    problems = [f"{name}=={version} is locked but {present[name] or 'missing'} is installed"
                if name in present else f"{name}=={version} is locked but not installed"
                for name, version in sorted(lock.items()) if present.get(name) != version]
    problems += [f"{name} {version} is installed but not in the lock"
                 for name, version in sorted(present.items())
                 if name not in lock and name not in INSTALLER | {"openhearth"}]
    return problems


def main() -> int:
    lock = Path(sys.argv[1])
    pins = locked(lock)
    problems = differences(pins, installed())
    for problem in problems:
        print(f"{lock}: {problem}", file=sys.stderr)
    if problems:
        return 1
    check = subprocess.run([sys.executable, "-m", "pip", "check"])
    if check.returncode:
        return check.returncode
    print(f"{lock}: the environment holds exactly the {len(pins)} locked packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
