"""Every query of the matching domain."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import delete, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.matching.models import Match, Swipe


def ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a.bytes < b.bytes else (b, a)


async def lock_pair(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Serialise concurrent likes of one pair (SQLite already serialises writers)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    low, high = ordered(a, b)
    key = int.from_bytes(
        hashlib.blake2b(low.bytes + high.bytes, digest_size=8).digest(), "big", signed=True
    )
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def get_swipe(session: AsyncSession, swiper: uuid.UUID, target: uuid.UUID) -> Swipe | None:
    return await session.get(Swipe, (swiper, target))


async def swiped_by(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    return set(await session.scalars(select(Swipe.target_id).where(Swipe.swiper_id == user_id)))


async def match_between(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> Match | None:
    low, high = ordered(a, b)
    return await session.scalar(select(Match).where(Match.user_low == low, Match.user_high == high))


async def get_match(session: AsyncSession, match_id: uuid.UUID) -> Match | None:
    return await session.get(Match, match_id)


async def matches_of(session: AsyncSession, user_id: uuid.UUID, *, active: bool) -> list[Match]:
    stmt = select(Match).where(or_(Match.user_low == user_id, Match.user_high == user_id))
    if active:
        stmt = stmt.where(Match.ended_at.is_(None))
    return list(await session.scalars(stmt.order_by(Match.created_at.desc())))


async def swipes_made(session: AsyncSession, user_id: uuid.UUID) -> list[Swipe]:
    return list(await session.scalars(select(Swipe).where(Swipe.swiper_id == user_id)))


async def delete_swipes(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        delete(Swipe).where(or_(Swipe.swiper_id == user_id, Swipe.target_id == user_id))
    )
    return int(getattr(result, "rowcount", 0) or 0)
