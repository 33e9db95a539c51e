"""Every query of the moderation domain."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.moderation.models import Block, Report


async def block_exists_between(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    row = await session.scalar(
        select(Block.blocker_id)
        .where(
            or_(
                (Block.blocker_id == a) & (Block.blocked_id == b),
                (Block.blocker_id == b) & (Block.blocked_id == a),
            )
        )
        .limit(1)
    )
    return row is not None


async def get_block(session: AsyncSession, blocker: uuid.UUID, blocked: uuid.UUID) -> Block | None:
    return await session.get(Block, (blocker, blocked))


async def blocked_either_way(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    rows = await session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id == user_id, Block.blocked_id == user_id)
        )
    )
    for blocker, blocked in rows:
        out.add(blocked if blocker == user_id else blocker)
    return out


async def blocks_made(session: AsyncSession, user_id: uuid.UUID) -> list[Block]:
    return list(await session.scalars(select(Block).where(Block.blocker_id == user_id)))


async def reports_made(session: AsyncSession, user_id: uuid.UUID) -> list[Report]:
    return list(await session.scalars(select(Report).where(Report.reporter_id == user_id)))


async def erase_user(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    blocks = await session.execute(delete(Block).where(Block.blocker_id == user_id))
    reports = await session.execute(
        update(Report).where(Report.reporter_id == user_id).values(reporter_id=None, details="")
    )
    return {
        "blocks_removed": int(getattr(blocks, "rowcount", 0) or 0),
        "reports_anonymised": int(getattr(reports, "rowcount", 0) or 0),
    }
