"""File SQLite: one connection per node, statements on the event loop's thread, checkpoints
on a thread of their own."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from rapport.kit.db import (
    SQLITE_CACHE_KIB,
    SQLITE_MMAP_BYTES,
    create_engine,
    raw_sqlite,
    savepoint,
)


def _checkpointers() -> int:
    return sum(t.name == "sqlite-checkpoint" and t.is_alive() for t in threading.enumerate())


async def test_statements_run_on_the_loop_thread_over_one_connection(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        assert engine.pool.size() == 1  # type: ignore[attr-defined]
        async with engine.connect() as conn:

            def install(sync_conn: Any) -> None:
                raw = sync_conn.connection.driver_connection._conn
                raw.create_function("thread_id", 0, threading.get_ident)

            await conn.run_sync(install)
            ran_on = (await conn.execute(text("SELECT thread_id()"))).scalar()
            assert ran_on == threading.get_ident()
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_a_second_transaction_waits_for_the_first_instead_of_failing(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    order: list[str] = []
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))

        async def writer(name: str, hold: float) -> None:
            async with engine.begin() as conn:
                order.append(f"{name} in")
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                await asyncio.sleep(hold)  # another task runs meanwhile and must wait
                order.append(f"{name} out")

        await asyncio.gather(writer("a", 0.2), writer("b", 0))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    finally:
        await engine.dispose()
    assert order == ["a in", "a out", "b in", "b out"]


async def test_the_checkpointer_empties_the_wal_and_stops_with_the_engine(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.db"
    before = _checkpointers()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (body TEXT)"))
            await conn.execute(
                text("INSERT INTO t VALUES (:b)"), [{"b": "x" * 1000} for _ in range(500)]
            )
        assert _checkpointers() == before + 1
        # Commits only append to the WAL (automatic checkpoints are off); the database file
        # grows once the checkpointer has copied the pages back.
        assert Path(f"{path}-wal").stat().st_size > 500_000
        assert path.stat().st_size < 100_000
        deadline = time.monotonic() + 5
        while path.stat().st_size < 500_000:
            assert time.monotonic() < deadline, "nothing checkpointed the WAL"
            await asyncio.sleep(0.1)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 500
    finally:
        await engine.dispose()
    deadline = time.monotonic() + 5
    while _checkpointers() > before and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert _checkpointers() == before


async def test_raw_connection_only_for_file_sqlite(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    for url, inline in (
        (f"sqlite+aiosqlite:///{tmp_path / 'raw.db'}", True),
        ("sqlite+aiosqlite:///:memory:", False),
    ):
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as session:
                assert (await raw_sqlite(session) is not None) is inline
        finally:
            await engine.dispose()


async def test_one_raw_lookup_per_transaction(tmp_path: Path) -> None:
    """raw_sqlite is asked for by every statement of a send batch: it is looked up once per
    transaction, and a new transaction looks again."""
    from sqlalchemy.ext.asyncio import AsyncSession

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'once.db'}")
    try:
        async with AsyncSession(engine) as session:
            first = await raw_sqlite(session)
            cached = session.info["raw_sqlite"]
            assert await raw_sqlite(session) is first and session.info["raw_sqlite"] is cached
            await session.commit()
            assert await raw_sqlite(session) is not None
            assert session.info["raw_sqlite"] is not cached  # a new transaction, a new look-up
    finally:
        await engine.dispose()


async def test_page_cache_and_memory_map_are_set(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
    try:
        async with engine.connect() as conn:
            cache = (await conn.execute(text("PRAGMA cache_size"))).scalar()
            mmap = (await conn.execute(text("PRAGMA mmap_size"))).scalar()
        assert cache == -SQLITE_CACHE_KIB
        assert mmap == SQLITE_MMAP_BYTES
    finally:
        await engine.dispose()


async def _insert(session: Any, raw: Any, n: int) -> None:
    if raw is not None:
        raw.execute("INSERT INTO t VALUES (?)", (n,))
    else:
        await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})


async def _refused_insert(session: Any, raw: Any, n: int) -> None:
    async with savepoint(session):
        await _insert(session, raw, n)
        raise RuntimeError("refused")


async def test_savepoint_undoes_only_its_block(tmp_path: Path) -> None:
    """kit.db.savepoint: raw statements inside a failed block are undone, the transaction
    around it goes on and commits what came before; on in-memory SQLite (no raw connection)
    it is the ORM's nested transaction, with the same outcome."""
    from sqlalchemy.ext.asyncio import AsyncSession

    for url in (f"sqlite+aiosqlite:///{tmp_path / 'sp.db'}", "sqlite+aiosqlite:///:memory:"):
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as session:
                await session.execute(text("CREATE TABLE t (n INTEGER UNIQUE)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))
                raw = await raw_sqlite(session)
                assert (raw is not None) is url.endswith("sp.db")
                with pytest.raises(RuntimeError):
                    await _refused_insert(session, raw, 2)
                async with savepoint(session):
                    await _insert(session, raw, 3)
                await session.commit()
                rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars()
                assert list(rows) == [1, 3], url
        finally:
            await engine.dispose()
