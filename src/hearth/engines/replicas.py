"""Round-robin over replicas of one upstream model, skipping those that just failed.

There is no background health checker: a replica that failed goes to the back of the line
for ``cooldown_s`` seconds, then real traffic tries it again in its turn. Cooling replicas
are still tried after the healthy ones, so a request is refused only when every replica
failed it, and a lone upstream that restarts is used again at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

COOLDOWN_S = 5.0


@dataclass
class Replica:
    url: str  # base URL, ending in /v1, no trailing slash
    down_until: float = 0.0  # time.monotonic() before which it is skipped


class Replicas:
    def __init__(self, urls: list[str], cooldown_s: float = COOLDOWN_S):
        if not urls:
            raise ValueError("at least one replica URL is needed")
        self.replicas = [Replica(url) for url in urls]
        self.cooldown_s = cooldown_s
        self._next = 0

    def in_turn(self) -> list[Replica]:
        """Every replica, in the order to try them for one request: healthy ones first,
        starting with the next in the rotation, then those cooling down. Each call moves the
        rotation on by one."""
        start = self._next
        self._next = (start + 1) % len(self.replicas)
        ordered = self.replicas[start:] + self.replicas[:start]
        now = time.monotonic()
        return sorted(ordered, key=lambda r: r.down_until > now)  # stable: keeps the turn

    def failed(self, replica: Replica) -> None:
        replica.down_until = time.monotonic() + self.cooldown_s

    def answered(self, replica: Replica) -> None:
        replica.down_until = 0.0
