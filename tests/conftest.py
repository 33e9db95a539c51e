"""Test harness: every database test runs on SQLite and on PostgreSQL, each in a transaction
that is rolled back at the end. PostgreSQL comes from RAPPORT_TEST_DATABASE_URL: absent, its
variants are skipped with a reason; present but unreachable, they fail."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from rapport.app import create_app
from rapport.config import Settings
from rapport.events.schemas import DomainEvent
from rapport.kit.db import create_engine
from rapport.kit.migrate import upgrade_on
from rapport.runtime import Runtime, build_runtime

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"]


def make_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "env": "test",
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "database_url": "sqlite+aiosqlite:///:memory:",
        "gc_tuning": False,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


async def _prepare(engine: AsyncEngine, backend: str) -> None:
    async with engine.connect() as conn:
        if backend == "postgresql":
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
            await conn.commit()
        await conn.run_sync(upgrade_on)
        await conn.commit()


@pytest.fixture(scope="session", params=BACKENDS)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    backend: str = request.param
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("RAPPORT_TEST_DATABASE_URL is not set: PostgreSQL variants skipped")
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    eng = create_engine(url)
    try:
        await _prepare(eng, backend)
    except Exception as exc:  # reachable-or-fail: a configured database must work
        await eng.dispose()
        pytest.fail(f"{backend} test database at {url!r} is unusable: {exc!r}")
    yield eng
    await eng.dispose()


@pytest.fixture
def db_url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield connection
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def rt(
    engine: AsyncEngine, conn: AsyncConnection, settings: Settings
) -> AsyncIterator[Runtime]:
    """A runtime whose sessions all join the test's rolled-back transaction."""
    runtime = build_runtime(settings, engine=engine)
    runtime.sessionmaker = async_sessionmaker(
        bind=conn,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
        info={"bus": runtime.bus, "moderation": runtime.moderation},
    )
    yield runtime
    await runtime.bus.drain()
    for task in runtime.background:
        task.cancel()
    await asyncio.gather(*runtime.background, return_exceptions=True)


@pytest.fixture
async def session(rt: Runtime) -> AsyncIterator[AsyncSession]:
    async with rt.sessionmaker() as s:
        yield s


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=rt)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if "postgresql" in getattr(report, "nodeid", "") and getattr(
                report, "when", "call"
            ) in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                counts[outcome] = counts.get(outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none collected"
    terminalreporter.write_line(f"PostgreSQL variants: {summary}")


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def record_events(rt: Runtime) -> Callable[[str], list[DomainEvent]]:
    """``record_events("match.created")`` returns a list that fills as such events publish."""

    def subscribe(event_type: str) -> list[DomainEvent]:
        seen: list[DomainEvent] = []

        async def record(event: DomainEvent) -> None:
            seen.append(event)

        rt.bus.subscribe(event_type, record)
        return seen

    return subscribe


REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS_URL", "").strip()


@pytest.fixture
async def redis_client() -> AsyncIterator[Any]:
    """A real Redis from RAPPORT_TEST_REDIS_URL (skipped when unset, failing when unreachable)."""
    from redis.asyncio import Redis

    if not REDIS_URL:
        pytest.skip("RAPPORT_TEST_REDIS_URL is not set: Redis tests skipped")
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.fail(f"Redis at {REDIS_URL!r} is unusable: {exc!r}")
    yield client
    await client.aclose()
