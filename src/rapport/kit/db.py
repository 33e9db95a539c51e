"""Database plumbing: declarative base, engine factory, the request-owned transaction.

Services ``flush()``; the caller (a request, a job, the CLI) owns ``commit()``. Domain events
raised inside a transaction are queued on the session and handed to the bus only after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator, Uuid

from rapport.kit.errors import RapportError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    # isolation_level=None hands transaction control to our "begin" hook below.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Build the async engine; SQLite gets WAL and serialised (IMMEDIATE) write transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so read-then-write transactions
            # (like checks, seq allocation) cannot interleave and fail with BUSY_SNAPSHOT.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[], Any]


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Queue ``action`` to run once the owning transaction has committed (dropped on rollback)."""
    session.info.setdefault("after_commit", []).append(action)


BeforeCommit = Callable[[AsyncSession], Awaitable[None]]


def before_commit(session: AsyncSession, key: str, action: BeforeCommit) -> None:
    """Run ``action`` once (per ``key``) inside the transaction, just before it commits: for
    rows that must commit together with the change, collected cheaply and written in bulk."""
    session.info.setdefault("before_commit", {})[key] = action


async def run_before_commit(session: AsyncSession) -> None:
    actions: dict[str, BeforeCommit] = session.info.pop("before_commit", {})
    for action in actions.values():
        await action(session)


async def run_after_commit(session: AsyncSession) -> None:
    actions: list[AfterCommit] = session.info.pop("after_commit", [])
    for action in actions:
        result = action()
        if hasattr(result, "__await__"):
            await result


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open a session, commit on success (then run after-commit actions), roll back on error."""
    async with factory() as session:
        try:
            yield session
            await run_before_commit(session)
            await session.commit()
        except RapportError:
            # A service may ask that what it flushed before refusing be kept (e.g. a revocation).
            if session.info.pop("commit_on_error", False):
                await run_before_commit(session)
                await session.commit()
                await run_after_commit(session)
            else:
                await session.rollback()
                _forget(session)
            raise
        except BaseException:
            await session.rollback()
            _forget(session)
            raise
        await run_after_commit(session)


def _forget(session: AsyncSession) -> None:
    session.info.pop("after_commit", None)
    session.info.pop("before_commit", None)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def insert_ignore(
    session: AsyncSession, table: type[Base], values: dict[str, Any], unique: list[str]
) -> bool:
    """INSERT … ON CONFLICT (unique) DO NOTHING on either dialect; True when a row was added."""
    stmt: Any
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=unique)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=unique)
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))
