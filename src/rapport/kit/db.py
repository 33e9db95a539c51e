"""Database plumbing: declarative base, engine factory, the request-owned transaction.

Services ``flush()``; the caller (a request, a job, the CLI) owns ``commit()``. Domain events
raised inside a transaction are queued on the session and handed to the bus only after commit.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import structlog
from sqlalchemy import JSON, DateTime, MetaData, Table, event
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import NullType, TypeDecorator, Uuid

from rapport.kit.errors import RapportError

log = structlog.get_logger(__name__)

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


SQLITE_CACHE_KIB = 64 * 1024
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    # isolation_level=None hands transaction control to our "begin" hook below.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # SQLite's default page cache is 2 MB. The message indexes take keys from all over their
    # range (per conversation, per sender), so once a node holds a few hundred thousand
    # messages most inserts missed it and read index pages with a system call each; 64 MB of
    # cache and the file mapped into memory keep those reads in the process.
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cur.close()


class _InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run in the calling (event-loop) thread.

    aiosqlite hands every call to its own thread and back: a queue put, a thread wake-up,
    ``call_soon_threadsafe`` and a loop wake-up, and under load each hop also waits for the
    GIL (up to the 5 ms switch interval). A transaction of ten statements then held SQLite's
    lock for tens of milliseconds and cost far more CPU than SQLite itself, which answers these
    indexed statements in microseconds. Running them inline removes the hops; the node's single
    connection (see :func:`create_engine`) means nothing else in the process waits on SQLite's
    lock, and checkpoints, the one slow SQLite step (fsync), run on a thread of their own
    (:func:`_checkpointer`). aiosqlite's thread stays for the rare calls that are sent to it
    directly (opening, closing, SQLAlchemy's isolation-level switch).
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _checkpointer(database: str, stop: threading.Event, every_s: float = 1.0) -> None:
    """Copy the WAL back into the database file off the event loop (the inline connection has
    automatic checkpoints off: they would fsync inside a commit on the loop)."""
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA busy_timeout=1000")
        while not stop.wait(every_s):
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                log.warning("sqlite_checkpoint_failed", error=str(exc))
    finally:
        conn.close()


def _inline_connect(database: str, **kwargs: Any) -> aiosqlite.Connection:
    kwargs["check_same_thread"] = False  # opened on aiosqlite's thread, used on the loop's
    conn = _InlineConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    conn._thread.daemon = True
    return conn


async def raw_sqlite(session: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection under the session's (begun) transaction when statements run
    inline, i.e. on file SQLite; ``None`` on any other database.

    For the few hot statements (the send batch) that skip SQLAlchemy's per-statement work;
    they run in the same transaction as everything else the session does. Bind values must be
    converted as SQLAlchemy would (:func:`sqlite_binders`), and errors translated
    (:func:`raw_errors`).
    """
    # Looked up once per transaction: each look-up is several SQLAlchemy calls and greenlet
    # switches, which cost more than the statements themselves on a busy send path.
    root = session.sync_session.get_transaction()
    cached = session.info.get("raw_sqlite")
    if root is not None and cached is not None and cached[0] is root:
        raw: sqlite3.Connection | None = cached[1]
        return raw
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    raw = driver._conn if isinstance(driver, _InlineConnection) else None
    # The root transaction is kept with it, so its identity cannot be reused by a later one.
    session.info["raw_sqlite"] = (session.sync_session.get_transaction(), raw)
    return raw


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A SAVEPOINT around a block: what the block wrote is undone if it raises.

    Where statements go straight to sqlite3 (:func:`raw_sqlite`), the savepoint is three plain
    statements; elsewhere it is ``session.begin_nested()``. Only for blocks that write through
    raw statements, since the ORM does not know of a raw savepoint's rollback.
    """
    raw = await raw_sqlite(session)
    if raw is None:
        async with session.begin_nested():
            yield
        return
    raw.execute("SAVEPOINT rapport_raw")
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK TO rapport_raw")
        raw.execute("RELEASE rapport_raw")
        raise
    raw.execute("RELEASE rapport_raw")


_SQLITE = sqlite_dialect()


def sqlite_binders(table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any]]:
    """How SQLAlchemy converts a Python value for each of ``columns`` when writing to SQLite
    (UUIDs as 32 hex digits, datetimes as UTC text, booleans as 0/1)."""
    out: list[Callable[[Any], Any]] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, NullType):
            raise TypeError(f"{table.name}.{name} has no type yet (models not configured)")
        process = kind.dialect_impl(_SQLITE).bind_processor(_SQLITE)
        out.append(process if process is not None else _same)
    return out


def _same(value: Any) -> Any:
    return value


@contextmanager
def raw_errors(statement: str, params: Any) -> Iterator[None]:
    """Raise sqlite3's integrity errors as SQLAlchemy's, as the ORM path would."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(statement, params, exc) from exc


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Build the async engine; SQLite gets WAL and serialised (IMMEDIATE) write transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        on_file = bool(path) and path != ":memory:"
        if on_file:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # One connection per node: SQLite has one writer at a time, and every transaction
            # here takes the write lock up front (below). With several pooled connections the
            # node's own transactions would contend for that lock in SQLite's busy handler,
            # which polls with sleeps of up to 100 ms, so under load a waiter wakes long after
            # the lock was freed. Waiting for the one connection instead hands it over at once,
            # in order. The busy timeout still covers other processes (the CLI, a second
            # server on the same file).
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if on_file:

            @event.listens_for(engine.sync_engine, "do_connect")
            def _inline(dialect: Any, _rec: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
                cparams["async_creator_fn"] = _inline_connect

            @event.listens_for(engine.sync_engine, "connect")
            def _start_checkpoints(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
                dbapi_conn.cursor().execute("PRAGMA wal_autocheckpoint=0")
                stop = threading.Event()
                record.info["checkpointer"] = stop
                threading.Thread(
                    target=_checkpointer, args=(path, stop), name="sqlite-checkpoint", daemon=True
                ).start()

            @event.listens_for(engine.sync_engine, "close")
            def _stop_checkpoints(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
                stop = record.info.pop("checkpointer", None)
                if stop is not None:
                    stop.set()

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
