"""HTTP routes of matching: discovery, like / pass, matches, unmatch, block."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from rapport.accounts.deps import CurrentUser
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.matching import service
from rapport.matching.schemas import (
    Blocked,
    DiscoverPage,
    LikeResult,
    MatchOut,
    PassResult,
    Unmatched,
)

router = APIRouter(prefix="/api/v1", tags=["matching"], responses=STANDARD_PROBLEMS)


@router.get("/discover")
async def discover(
    session: DbSession,
    me: CurrentUser,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    max_distance_km: Annotated[float | None, Query(gt=0, le=20000)] = None,
) -> DiscoverPage:
    """Candidates ranked by compatibility, each with the reasons for its score."""
    return await service.discover(session, me.user_id, rt.settings, limit, max_distance_km)


@router.post("/users/{user_id}/like")
async def like(
    user_id: uuid.UUID, session: DbSession, me: CurrentUser, rt: RuntimeDep
) -> LikeResult:
    """Like a user. When they already liked you, the match and its conversation are created."""
    return await service.like(session, me.user_id, user_id, rt.limiter)


@router.post("/users/{user_id}/pass")
async def pass_user(user_id: uuid.UUID, session: DbSession, me: CurrentUser) -> PassResult:
    """Pass on a user so they no longer appear in discovery."""
    await service.pass_(session, me.user_id, user_id)
    return PassResult(passed=True)


@router.get("/matches")
async def matches(session: DbSession, me: CurrentUser) -> list[MatchOut]:
    """Your active matches, newest first."""
    return await service.list_matches(session, me.user_id)


@router.delete("/matches/{match_id}")
async def unmatch(match_id: uuid.UUID, session: DbSession, me: CurrentUser) -> Unmatched:
    """Unmatch: the conversation closes for both people."""
    match = await service.unmatch(session, me.user_id, match_id)
    assert match.ended_at is not None
    return Unmatched(id=match.id, ended_at=match.ended_at)


@router.post("/users/{user_id}/block")
async def block(user_id: uuid.UUID, session: DbSession, me: CurrentUser) -> Blocked:
    """Block a user: neither of you sees the other anywhere again; any match ends."""
    await service.block(session, me.user_id, user_id)
    return Blocked(blocked=True, user_id=user_id)
