"""Two people liking each other at the same instant get exactly one match and one
conversation. Runs with real commits (not the rolled-back harness) and cleans up after."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rapport.accounts.models import User
from rapport.chat.models import Conversation
from rapport.kit.db import make_sessionmaker, transaction
from rapport.kit.ratelimit import MemoryLimiter
from rapport.matching import service as matching
from rapport.matching.models import Match
from rapport.profiles.models import GENDER_BITS, Profile


async def _person(engine: AsyncEngine, gender: str, seeks: str) -> uuid.UUID:
    async with transaction(make_sessionmaker(engine)) as s:
        user = User(email=f"{uuid.uuid4().hex}@example.com", password_hash="x")
        s.add(user)
        await s.flush()
        s.add(
            Profile(
                user_id=user.id,
                display_name="P",
                birth_date=date(1994, 1, 1),
                gender=gender,
                gender_bit=GENDER_BITS[gender],
                seeking_mask=GENDER_BITS[seeks],
                age_min=18,
                age_max=60,
                languages=[],
            )
        )
        return user.id


async def test_simultaneous_likes_make_one_match(engine: AsyncEngine) -> None:
    factory = make_sessionmaker(engine)
    limiter = MemoryLimiter()
    for _ in range(5):
        a = await _person(engine, "woman", "man")
        b = await _person(engine, "man", "woman")
        try:

            async def like(me: uuid.UUID, them: uuid.UUID) -> bool:
                async with transaction(factory) as s:
                    return (await matching.like(s, me, them, limiter)).matched

            results = await asyncio.gather(like(a, b), like(b, a))
            assert sorted(results) == [False, True]
            async with factory() as s:
                matches = (await s.scalars(select(Match).where(Match.user_low.in_([a, b])))).all()
                assert len(matches) == 1
                convs = await s.scalar(
                    select(func.count())
                    .select_from(Conversation)
                    .where(Conversation.match_id == matches[0].id)
                )
                assert convs == 1
        finally:
            async with transaction(factory) as s:
                ids = list(await s.scalars(select(Match.id).where(Match.user_low.in_([a, b]))))
                await s.execute(delete(Conversation).where(Conversation.match_id.in_(ids)))
                await s.execute(delete(User).where(User.id.in_([a, b])))
