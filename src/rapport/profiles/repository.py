"""Every query of the profiles domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.profiles.models import Profile, ProfileInterest


async def get(session: AsyncSession, user_id: uuid.UUID) -> Profile | None:
    return await session.get(Profile, user_id)


async def interests_of(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(ProfileInterest.tag)
        .where(ProfileInterest.user_id == user_id)
        .order_by(ProfileInterest.tag)
    )
    return list(rows)


async def interests_for(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return out
    rows = await session.execute(
        select(ProfileInterest.user_id, ProfileInterest.tag)
        .where(ProfileInterest.user_id.in_(list(user_ids)))
        .order_by(ProfileInterest.tag)
    )
    for uid, tag in rows:
        out[uid].append(tag)
    return out


async def replace_interests(session: AsyncSession, user_id: uuid.UUID, tags: list[str]) -> None:
    await session.execute(delete(ProfileInterest).where(ProfileInterest.user_id == user_id))
    session.add_all(ProfileInterest(user_id=user_id, tag=t) for t in tags)


async def tag_frequencies(session: AsyncSession, tags: Collection[str]) -> dict[str, int]:
    if not tags:
        return {}
    rows = await session.execute(
        select(ProfileInterest.tag, func.count())
        .join(Profile, Profile.user_id == ProfileInterest.user_id)
        .where(ProfileInterest.tag.in_(list(tags)), Profile.hidden.is_(False))
        .group_by(ProfileInterest.tag)
    )
    return {tag: int(n) for tag, n in rows}


async def count_visible(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Profile).where(Profile.hidden.is_(False))
        )
        or 0
    )


async def candidates(
    session: AsyncSession,
    *,
    viewer: Profile,
    viewer_age: int,
    born_after: date,
    born_on_or_before: date,
    exclude: Sequence[uuid.UUID],
    bbox: tuple[float, float, float, float] | None,
    limit: int,
) -> list[Profile]:
    """Complete, visible profiles that fit both people's gender and age preferences."""
    stmt = select(Profile).where(
        Profile.user_id != viewer.user_id,
        Profile.hidden.is_(False),
        Profile.display_name.is_not(None),
        Profile.birth_date.is_not(None),
        Profile.birth_date > born_after,
        Profile.birth_date <= born_on_or_before,
        Profile.gender_bit.op("&")(viewer.seeking_mask) != 0,
        Profile.seeking_mask.op("&")(viewer.gender_bit) != 0,
        Profile.age_min <= viewer_age,
        Profile.age_max >= viewer_age,
    )
    if exclude:
        stmt = stmt.where(Profile.user_id.not_in(list(exclude)))
    if bbox is not None:
        min_lat, max_lat, min_lon, max_lon = bbox
        stmt = stmt.where(Profile.lat.between(min_lat, max_lat))
        if max_lon - min_lon < 360:
            stmt = stmt.where(Profile.lon.between(min_lon, max_lon))
    stmt = stmt.order_by(Profile.updated_at.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def profiles_by_ids(session: AsyncSession, ids: Collection[uuid.UUID]) -> list[Profile]:
    if not ids:
        return []
    return list(await session.scalars(select(Profile).where(Profile.user_id.in_(list(ids)))))


async def delete_profile(session: AsyncSession, user_id: uuid.UUID) -> int:
    n = await session.execute(delete(ProfileInterest).where(ProfileInterest.user_id == user_id))
    p = await session.execute(delete(Profile).where(Profile.user_id == user_id))
    return int(getattr(n, "rowcount", 0) or 0) + int(getattr(p, "rowcount", 0) or 0)
