"""Sliding-window counters for abuse limits (login, registration, location changes).

The in-memory limiter suits one node; a Redis limiter with the same interface serves clusters.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from rapport.kit.errors import RateLimited


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> int:
        """Record one event for ``key``; return seconds to wait if over ``limit`` else 0."""

    async def peek(self, key: str, limit: int, window_s: int) -> int:
        """Return seconds to wait if ``key`` is already at ``limit``, without recording."""

    async def reset(self, key: str) -> None: ...


class MemoryLimiter:
    """Per-process sliding window log. Bounded: at most ``limit`` stamps kept per key."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._events: dict[str, deque[float]] = {}
        self._max_keys = max_keys

    def _window(self, key: str, window_s: int) -> deque[float]:
        now = time.monotonic()
        stamps = self._events.get(key)
        if stamps is None:
            if len(self._events) >= self._max_keys:
                self._evict(now)
            stamps = self._events[key] = deque()
        while stamps and stamps[0] <= now - window_s:
            stamps.popleft()
        return stamps

    def _evict(self, now: float) -> None:
        # Drop the oldest half of keys; cheap and keeps memory bounded under key floods.
        for key in list(self._events)[: self._max_keys // 2]:
            del self._events[key]

    async def peek(self, key: str, limit: int, window_s: int) -> int:
        stamps = self._window(key, window_s)
        if len(stamps) >= limit:
            return max(1, int(stamps[0] + window_s - time.monotonic()) + 1)
        return 0

    async def hit(self, key: str, limit: int, window_s: int) -> int:
        wait = await self.peek(key, limit, window_s)
        if wait:
            return wait
        self._events[key].append(time.monotonic())
        return 0

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)


async def enforce(limiter: Limiter, key: str, limit: int, window_s: int, what: str) -> None:
    """Record a hit and raise :class:`RateLimited` when ``key`` is over its budget."""
    wait = await limiter.hit(key, limit, window_s)
    if wait:
        raise RateLimited(f"Too many {what}; try again in {wait} s.", retry_after_s=wait)
