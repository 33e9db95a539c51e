"""Every query of the AI layer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.ai.models import AIResult


async def latest(
    session: AsyncSession, kind: str, conversation_id: uuid.UUID, user_id: uuid.UUID | None
) -> AIResult | None:
    stmt = select(AIResult).where(
        AIResult.kind == kind, AIResult.conversation_id == conversation_id
    )
    if user_id is not None:
        stmt = stmt.where(AIResult.user_id == user_id)
    return await session.scalar(stmt.order_by(AIResult.created_at.desc()).limit(1))


async def for_message(session: AsyncSession, message_id: uuid.UUID, kind: str) -> AIResult | None:
    return await session.scalar(
        select(AIResult).where(AIResult.message_id == message_id, AIResult.kind == kind)
    )


async def of_user(session: AsyncSession, user_id: uuid.UUID) -> list[AIResult]:
    return list(await session.scalars(select(AIResult).where(AIResult.user_id == user_id)))


async def erase_user(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(delete(AIResult).where(AIResult.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def by_dedupe_key(session: AsyncSession, key: str) -> AIResult | None:
    return await session.scalar(select(AIResult).where(AIResult.dedupe_key == key))


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Store many results in one executemany (no unit of work; ids and times by default)."""
    if rows:
        await session.execute(insert(AIResult), rows)
