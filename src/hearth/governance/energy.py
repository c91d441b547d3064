"""Energy estimates for usage records.

On a GPU, NVML's energy counter (millijoules since the driver loaded) is read at the start
and end of a request; on a CPU, the configured power draw times the time the engine was busy
with it. Either way the reading is shared by the requests in flight at the same time, since
one batched engine serves them together. An estimate, said as one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


def _nvml_reader():
    """A function returning total GPU energy in joules, or None without a usable GPU."""
    try:
        import pynvml  # from nvidia-ml-py, present only where a GPU stack is installed
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                   for i in range(pynvml.nvmlDeviceGetCount())]
        if not handles:
            return None

        def read() -> float:
            return sum(pynvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in handles) / 1000

        read()
        return read
    except Exception:  # no module, no driver, no GPU, or a GPU without the counter
        return None


@dataclass(frozen=True)
class Reading:
    at: float
    gpu_joules: float | None
    sharing: int  # requests in flight when it started, this one included


class EnergyMeter:
    def __init__(self, cpu_watts: float):
        self.cpu_watts = cpu_watts
        self._gpu = _nvml_reader()

    @property
    def source(self) -> str:
        return "nvml" if self._gpu else f"cpu estimate at {self.cpu_watts:g} W"

    def start(self, in_flight: int) -> Reading:
        return Reading(time.perf_counter(), self._gpu() if self._gpu else None,
                       max(1, in_flight))

    def joules_since(self, reading: Reading) -> float:
        if self._gpu and reading.gpu_joules is not None:
            spent = self._gpu() - reading.gpu_joules
        else:
            spent = self.cpu_watts * (time.perf_counter() - reading.at)
        return spent / reading.sharing
