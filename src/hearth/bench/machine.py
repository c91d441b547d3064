"""What every benchmark report records about where it ran, so two reports can be compared."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info(packages: tuple[str, ...]) -> dict[str, Any]:
    """The machine, its load, and the versions of the ``packages`` the benchmark depends on."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        # Other work on the machine slows every timing; the 1-minute load when the report
        # was written says whether there was any.
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        **{name.replace("-", "_"): _version(name) for name in ("openhearth", *packages)},
    }
