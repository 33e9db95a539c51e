from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.models import Base


async def test_migrations_match_models(conn: AsyncConnection) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))

    assert await conn.run_sync(diff) == []


async def test_sqlite_runs_in_wal_mode(conn: AsyncConnection) -> None:
    if conn.dialect.name != "sqlite":
        return
    mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
    assert mode == "wal"
    assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
