"""How busy the process is, for background work that should yield to traffic."""

from __future__ import annotations

import time


class CpuShare:
    """Share of one core the process used (all its threads) between two samples, less CPU time
    the caller marked as its own with :meth:`exclude`."""

    def __init__(self) -> None:
        self.last = 0.0
        self.restart()

    def restart(self) -> None:
        """Start the next sample now (e.g. after work that should not count)."""
        self._cpu, self._wall, self._excluded = time.process_time(), time.monotonic(), 0.0

    def exclude(self, cpu_s: float) -> None:
        self._excluded += cpu_s

    def sample(self, min_s: float = 0.0) -> float:
        """The share since the last sample; the previous one while less than ``min_s`` has
        passed (a short window says little)."""
        cpu, wall = time.process_time(), time.monotonic()
        if wall > self._wall and wall - self._wall >= min_s:
            self.last = (cpu - self._cpu - self._excluded) / (wall - self._wall)
            self._cpu, self._wall, self._excluded = cpu, wall, 0.0
        return self.last
