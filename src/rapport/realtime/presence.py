"""Who is online: sockets per user, with last-seen times. In memory on one node, in Redis for
a cluster (a sorted set per user whose scores are lease expiries, renewed by each node's
heartbeat, so the sockets of a crashed node age out on their own)."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis

LEASE_S = 90


class PresenceStore(Protocol):
    async def add(self, user_id: uuid.UUID, sid: str) -> bool:
        """Record a socket; True when it is the user's first one."""

    async def remove(self, user_id: uuid.UUID, sid: str) -> bool:
        """Forget a socket; True when the user has no socket left (last seen recorded)."""

    async def renew(self, sockets: dict[str, uuid.UUID]) -> None:
        """Heartbeat for this node's live sockets."""

    async def states(
        self, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[bool, datetime | None]]:
        """(online, last_seen_at) per user."""

    async def is_online(self, user_id: uuid.UUID) -> bool: ...

    def here(self, user_id: uuid.UUID) -> bool:
        """Has the user a socket on this node? No I/O, so it may run inline on a hot path; it
        implies ``is_online`` but not the other way round."""


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryPresence:
    def __init__(self) -> None:
        self._sockets: dict[uuid.UUID, set[str]] = defaultdict(set)
        self._seen: dict[uuid.UUID, datetime] = {}

    async def add(self, user_id: uuid.UUID, sid: str) -> bool:
        first = not self._sockets[user_id]
        self._sockets[user_id].add(sid)
        return first

    async def remove(self, user_id: uuid.UUID, sid: str) -> bool:
        sockets = self._sockets.get(user_id, set())
        sockets.discard(sid)
        if sockets:
            return False
        self._sockets.pop(user_id, None)
        self._seen[user_id] = _now()
        return True

    async def renew(self, sockets: dict[str, uuid.UUID]) -> None:
        return None

    async def is_online(self, user_id: uuid.UUID) -> bool:
        return self.here(user_id)  # one node: its sockets are all there are

    def here(self, user_id: uuid.UUID) -> bool:
        return bool(self._sockets.get(user_id))

    async def states(
        self, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[bool, datetime | None]]:
        return {u: (bool(self._sockets.get(u)), self._seen.get(u)) for u in user_ids}


class RedisPresence:
    def __init__(self, redis: Redis, prefix: str = "rapport:presence") -> None:
        self._r = redis
        self._p = prefix
        self._here = MemoryPresence()  # this node's own sockets

    def _key(self, user_id: uuid.UUID) -> str:
        return f"{self._p}:sockets:{user_id}"

    def _seen_key(self, user_id: uuid.UUID) -> str:
        return f"{self._p}:seen:{user_id}"

    async def _count(self, user_id: uuid.UUID) -> int:
        return int(await self._r.zcount(self._key(user_id), time.time(), "+inf"))

    async def add(self, user_id: uuid.UUID, sid: str) -> bool:
        await self._here.add(user_id, sid)
        key = self._key(user_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zcard(key)
            pipe.zadd(key, {sid: time.time() + LEASE_S})
            pipe.expire(key, LEASE_S * 2)
            _, before, _, _ = await pipe.execute()
        return int(before) == 0

    async def remove(self, user_id: uuid.UUID, sid: str) -> bool:
        await self._here.remove(user_id, sid)
        await self._r.zrem(self._key(user_id), sid)
        if await self._count(user_id):
            return False
        await self._r.set(self._seen_key(user_id), _now().isoformat(), ex=90 * 86400)
        return True

    async def renew(self, sockets: dict[str, uuid.UUID]) -> None:
        if not sockets:
            return
        expiry = time.time() + LEASE_S
        async with self._r.pipeline(transaction=False) as pipe:
            for sid, user_id in sockets.items():
                pipe.zadd(self._key(user_id), {sid: expiry})
                pipe.expire(self._key(user_id), LEASE_S * 2)
            await pipe.execute()

    async def is_online(self, user_id: uuid.UUID) -> bool:
        return await self._count(user_id) > 0

    def here(self, user_id: uuid.UUID) -> bool:
        return self._here.here(user_id)

    async def states(
        self, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[bool, datetime | None]]:
        out: dict[uuid.UUID, tuple[bool, datetime | None]] = {}
        for user_id in user_ids:
            seen = await self._r.get(self._seen_key(user_id))
            text = seen.decode() if isinstance(seen, bytes) else seen
            out[user_id] = (
                await self.is_online(user_id),
                datetime.fromisoformat(text) if text else None,
            )
        return out
