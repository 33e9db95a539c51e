"""Sliding-window counters for abuse limits (login, registration, location changes).

The in-memory limiter suits one node; a Redis limiter with the same interface serves clusters.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from typing import Protocol

from redis.asyncio import Redis

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


class RedisLimiter:
    """Sliding-window log in a Redis sorted set per key: shared by every node of a cluster."""

    def __init__(self, redis: Redis, prefix: str = "rapport:rl") -> None:
        self._r = redis
        self._p = prefix

    async def _stamps(self, key: str, window_s: int) -> tuple[int, float | None]:
        k, now = f"{self._p}:{key}", time.time()
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(k, "-inf", now - window_s)
            pipe.zcard(k)
            pipe.zrange(k, 0, 0, withscores=True)
            _, count, first = await pipe.execute()
        return int(count), (float(first[0][1]) if first else None)

    async def peek(self, key: str, limit: int, window_s: int) -> int:
        count, first = await self._stamps(key, window_s)
        if count >= limit and first is not None:
            return max(1, int(first + window_s - time.time()) + 1)
        return 0

    async def hit(self, key: str, limit: int, window_s: int) -> int:
        wait = await self.peek(key, limit, window_s)
        if wait:
            return wait
        k, now = f"{self._p}:{key}", time.time()
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zadd(k, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
            pipe.expire(k, window_s + 1)
            await pipe.execute()
        return 0

    async def reset(self, key: str) -> None:
        await self._r.delete(f"{self._p}:{key}")


class Bucket(Protocol):
    async def take(self, key: str, rate_per_s: float, burst: int) -> float:
        """Take one token; return 0 if granted, else seconds until one is available."""


class MemoryBucket:
    """Token buckets in process memory (one node)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, rate_per_s: float, burst: int) -> float:
        now = time.monotonic()
        tokens, stamp = self._state.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - stamp) * rate_per_s)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1 - tokens) / rate_per_s


_BUCKET_LUA = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local stamp = tonumber(redis.call('HGET', KEYS[1], 's'))
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tokens == nil then tokens = burst; stamp = now end
tokens = math.min(burst, tokens + (now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tokens, 's', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisBucket:
    """Token buckets in Redis, updated atomically by a Lua script (cluster-wide)."""

    def __init__(self, redis: Redis, prefix: str = "rapport:tb") -> None:
        self._r = redis
        self._p = prefix
        self._script = redis.register_script(_BUCKET_LUA)

    async def take(self, key: str, rate_per_s: float, burst: int) -> float:
        wait = await self._script(keys=[f"{self._p}:{key}"], args=[rate_per_s, burst, time.time()])
        return float(wait.decode() if isinstance(wait, bytes) else wait)
