"""The cluster backends of limits and presence, against a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from rapport.kit.ratelimit import MemoryBucket, MemoryLimiter, RedisBucket, RedisLimiter
from rapport.realtime.presence import MemoryPresence, RedisPresence


def prefix() -> str:
    return f"rapport-test:{uuid.uuid4().hex}"


async def test_redis_limiter_matches_memory_limiter(redis_client: Any) -> None:
    for limiter in (MemoryLimiter(), RedisLimiter(redis_client, prefix())):
        waits = [await limiter.hit("k", 3, 60) for _ in range(4)]
        assert waits[:3] == [0, 0, 0] and waits[3] > 0
        assert await limiter.peek("k", 3, 60) > 0
        await limiter.reset("k")
        assert await limiter.peek("k", 3, 60) == 0


async def test_redis_limiter_is_shared_between_nodes(redis_client: Any) -> None:
    p = prefix()
    node_a, node_b = RedisLimiter(redis_client, p), RedisLimiter(redis_client, p)
    assert await node_a.hit("login", 2, 60) == 0
    assert await node_b.hit("login", 2, 60) == 0
    assert await node_a.hit("login", 2, 60) > 0


async def test_token_buckets_allow_burst_then_refill(redis_client: Any) -> None:
    for bucket in (MemoryBucket(), RedisBucket(redis_client, prefix())):
        results = [await bucket.take("u", 10.0, 5) for _ in range(6)]
        assert results[:5] == [0.0] * 5
        assert 0 < results[5] <= 0.1 + 1e-6
        await asyncio.sleep(0.25)
        assert await bucket.take("u", 10.0, 5) == 0.0


async def test_presence_counts_sockets_across_nodes(redis_client: Any) -> None:
    p = prefix()
    user = uuid.uuid4()
    for node_a, node_b in (
        (m := MemoryPresence(), m),
        (RedisPresence(redis_client, p), RedisPresence(redis_client, p)),
    ):
        assert await node_a.add(user, "s1") is True
        assert await node_b.add(user, "s2") is False
        assert await node_a.remove(user, "s1") is False
        assert await node_b.is_online(user)
        assert await node_b.remove(user, "s2") is True
        online, seen = (await node_a.states([user]))[user]
        assert online is False and seen is not None


async def test_here_means_a_socket_on_this_node(redis_client: Any) -> None:
    """``here`` (no I/O) is true only for a user with a socket on the asking node; anywhere in
    the cluster is ``is_online``."""
    p = prefix()
    user = uuid.uuid4()
    node_a, node_b = RedisPresence(redis_client, p), RedisPresence(redis_client, p)
    await node_a.add(user, "s1")
    assert node_a.here(user) and not node_b.here(user)
    assert await node_b.is_online(user)
    await node_a.add(user, "s2")
    await node_a.remove(user, "s1")
    assert node_a.here(user)
    await node_a.remove(user, "s2")
    assert not node_a.here(user) and not await node_b.is_online(user)
    memory = MemoryPresence()
    await memory.add(user, "s1")
    assert memory.here(user)
    await memory.remove(user, "s1")
    assert not memory.here(user)
