"""Stop sequences, applied to generated text as it streams.

Text that could be the start of a stop sequence is held back until it is known not to be,
so a client never sees part of a stop sequence.
"""

from __future__ import annotations


class StopMatcher:
    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add generated text; return what is safe to emit now."""
        if self.stopped:
            return ""
        self._pending += text
        found = [at for stop in self.stops if (at := self._pending.find(stop)) != -1]
        if found:
            self.stopped = True
            out, self._pending = self._pending[: min(found)], ""
            return out
        hold = self._longest_stop_prefix_suffix()
        cut = len(self._pending) - hold
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out

    def flush(self) -> str:
        """Return held-back text at the end of generation."""
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _longest_stop_prefix_suffix(self) -> int:
        best = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:n]):
                    best = n
                    break
        return best
