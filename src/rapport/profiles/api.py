"""HTTP routes of profiles: /api/v1/me, /api/v1/users/{id}, /api/v1/interests."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rapport.accounts.deps import CurrentUser
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.profiles import service
from rapport.profiles.schemas import (
    InterestLabel,
    MyProfile,
    ProfileUpdate,
    PublicProfile,
    TaxonomyOut,
)
from rapport.profiles.taxonomy import taxonomy

router = APIRouter(prefix="/api/v1", tags=["profiles"], responses=STANDARD_PROBLEMS)


@router.get("/me")
async def get_me(session: DbSession, me: CurrentUser, rt: RuntimeDep) -> MyProfile:
    """Your own profile. Location is reported as set or not, never as coordinates."""
    return await service.my_profile(session, me.user_id, rt.settings)


@router.patch("/me")
async def patch_me(
    body: ProfileUpdate, session: DbSession, me: CurrentUser, rt: RuntimeDep
) -> MyProfile:
    """Update any subset of profile fields. Interests may be ids, labels or free text."""
    return await service.update(session, me.user_id, body, rt.settings, rt.limiter)


@router.get("/users/{user_id}")
async def get_user(user_id: uuid.UUID, session: DbSession, me: CurrentUser) -> PublicProfile:
    """Another user's public profile; 404 when blocked either way, hidden or inactive."""
    return await service.visible_profile(session, me.user_id, user_id)


@router.get("/interests")
async def get_interests() -> TaxonomyOut:
    """The bilingual interest taxonomy (public)."""
    tax = taxonomy()
    return TaxonomyOut(
        version=tax.version,
        categories=[{"id": c.id, "en": c.en, "zh": c.zh} for c in tax.categories],
        tags=[InterestLabel(**tax.label(t)) for t in tax.tags],
    )
