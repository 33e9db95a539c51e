"""The objects one Rapport node shares across requests, built once in the app lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rapport.accounts.passwords import PasswordHasher
from rapport.accounts.service import AccountService
from rapport.accounts.tokens import TokenCodec
from rapport.ai.registry import build_router
from rapport.ai.router import AIRouter
from rapport.config import Settings
from rapport.events.bus import EventBus
from rapport.events.outbox import OutboxGate
from rapport.kit.db import create_engine, make_sessionmaker
from rapport.kit.ratelimit import (
    Bucket,
    Limiter,
    MemoryBucket,
    MemoryLimiter,
    RedisBucket,
    RedisLimiter,
)
from rapport.moderation.gate import Moderation
from rapport.realtime.presence import MemoryPresence, PresenceStore, RedisPresence


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    limiter: Limiter
    hasher: PasswordHasher
    accounts: AccountService
    presence: PresenceStore
    bucket: Bucket
    moderation: Moderation
    ai: AIRouter = field(default_factory=lambda: AIRouter({}))
    analysis: Any = None
    redis: Redis | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)
    outbox: OutboxGate = field(default_factory=OutboxGate)
    dispatcher: Any = None  # workflows.dispatcher.Dispatcher, set by workflows.tasks.install
    scheduler: Any = None  # workflows.scheduler.Scheduler, likewise

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background loop for the node's lifetime (cancelled on close)."""
        self.background.append(asyncio.get_running_loop().create_task(coro))

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.bus.drain()
        await self.ai.aclose()
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def build_runtime(settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
    """Wire the node's shared objects from settings (engine injectable for tests)."""
    engine = engine or create_engine(settings.effective_database_url)
    bus = EventBus()
    factory = make_sessionmaker(engine)
    outbox = OutboxGate()
    factory.configure(info={"bus": bus, "outbox": outbox})
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    limiter: Limiter = RedisLimiter(redis) if redis else MemoryLimiter()
    bucket: Bucket = RedisBucket(redis) if redis else MemoryBucket()
    moderation = Moderation(settings, limiter, bucket)
    factory.configure(info={**factory.kw.get("info", {}), "moderation": moderation})
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    codec = TokenCodec(
        settings.secret_key.get_secret_value(),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        ttl_s=settings.access_token_ttl_s,
    )
    return Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=factory,
        bus=bus,
        limiter=limiter,
        hasher=hasher,
        accounts=AccountService(settings, hasher, limiter, codec),
        presence=RedisPresence(redis) if redis else MemoryPresence(),
        bucket=bucket,
        moderation=moderation,
        redis=redis,
        ai=build_router(settings),
        outbox=outbox,
    )
