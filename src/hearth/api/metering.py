"""One request's accounting: time to first token, duration, tokens and energy, settled once.

Settling releases the request's stream lease and writes its usage record; it happens before
the response (or the stream's last event) goes out, so every answered request is on record.
"""

from __future__ import annotations

import time

from hearth.governance.energy import EnergyMeter
from hearth.governance.gate import Cost, Pass
from hearth.governance.gate_writer import GateWriter


class RequestMeter:
    def __init__(self, gate: GateWriter, energy: EnergyMeter, admitted: Pass, *, model: str,
                 route: str, in_flight: int):
        self.gate = gate
        self.energy = energy
        self.admitted = admitted
        self.model = model
        self.route = route
        self._reading = energy.start(in_flight)
        self._started = time.perf_counter()
        self._ttft_ms: float | None = None
        self._settled = False

    def first_token(self) -> None:
        if self._ttft_ms is None:
            self._ttft_ms = (time.perf_counter() - self._started) * 1000

    async def settle(self, status: int, prompt_tokens: int = 0,
                     completion_tokens: int = 0) -> None:
        """Record the request (only the first call counts)."""
        if self._settled:
            return
        self._settled = True
        cost = Cost(model=self.model, route=self.route, status=status,
                    duration_ms=(time.perf_counter() - self._started) * 1000,
                    prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                    ttft_ms=self._ttft_ms, energy_joules=self.energy.joules_since(self._reading))
        await self.gate.settle(self.admitted, cost)
