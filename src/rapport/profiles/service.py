"""Profiles: the owner's editable profile, what others may see, and candidate search."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.config import Settings
from rapport.kit import clock
from rapport.kit.errors import NotFound, Unprocessable
from rapport.kit.ratelimit import Limiter, enforce
from rapport.moderation import gate as moderation_gate
from rapport.moderation import service as moderation
from rapport.profiles import geo
from rapport.profiles import repository as repo
from rapport.profiles.models import GENDER_BITS, Profile
from rapport.profiles.schemas import (
    InterestLabel,
    LocationOut,
    MyProfile,
    ProfileUpdate,
    PublicProfile,
    Seeking,
)
from rapport.profiles.taxonomy import FREE_PREFIX, taxonomy

MAX_FREE_TAGS = 5
Activity = Literal["today", "this_week", "earlier"]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def birth_bounds(age_min: int, age_max: int, today: date) -> tuple[date, date]:
    """(born_after, born_on_or_before) for ages in [age_min, age_max] on ``today``."""
    latest = _years_before(today, age_min)
    earliest_exclusive = _years_before(today, age_max + 1)
    return earliest_exclusive, latest


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def is_complete(p: Profile) -> bool:
    return bool(p.display_name and p.birth_date and p.gender and p.seeking_mask)


def seeking_of(p: Profile) -> Seeking | None:
    genders = [g for g, bit in GENDER_BITS.items() if p.seeking_mask & bit]
    if not genders:
        return None
    return Seeking(genders=genders, age_min=p.age_min, age_max=p.age_max)


def labels(tags: Sequence[str]) -> list[InterestLabel]:
    tax = taxonomy()
    return [InterestLabel(**tax.label(t)) for t in tags]


def normalise_interests(raw: list[str]) -> list[str]:
    """Map free-typed interests onto the taxonomy; keep at most a few free tags."""
    tax = taxonomy()
    out: list[str] = []
    for item in raw:
        tag = tax.resolve(item)
        if tag and tag not in out:
            out.append(tag)
    free = [t for t in out if t.startswith(FREE_PREFIX)]
    if len(free) > MAX_FREE_TAGS:
        raise Unprocessable(
            f"At most {MAX_FREE_TAGS} interests outside the taxonomy.", code="too_many_free_tags"
        )
    return out


async def get_or_create(session: AsyncSession, user_id: uuid.UUID) -> Profile:
    """The user's profile row, created empty on first use."""
    profile = await repo.get(session, user_id)
    if profile is None:
        profile = Profile(user_id=user_id, languages=[], bio="")
        session.add(profile)
        await session.flush()
    return profile


async def my_profile(session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> MyProfile:
    """The owner's view of their profile (no exact coordinates, ever)."""
    user = await accounts.get_user(session, user_id)
    if user is None:
        raise NotFound("Account not found.")
    p = await get_or_create(session, user_id)
    return MyProfile(
        id=user_id,
        email=user.email,
        locale=user.locale,
        display_name=p.display_name,
        birth_date=p.birth_date,
        age=age_on(p.birth_date, clock.today()) if p.birth_date else None,
        gender=p.gender,
        seeking=seeking_of(p),
        bio=p.bio,
        interests=labels(await repo.interests_of(session, user_id)),
        languages=list(p.languages),
        city=p.city,
        location=LocationOut(
            set=p.lat is not None,
            precision_km=settings.location_grid_km,
            updated_at=p.location_updated_at,
        ),
        complete=is_complete(p),
    )


async def update(
    session: AsyncSession,
    user_id: uuid.UUID,
    patch: ProfileUpdate,
    settings: Settings,
    limiter: Limiter,
) -> MyProfile:
    """Apply a partial update; birth date must make the user 18 or older."""
    p = await get_or_create(session, user_id)
    fields = patch.model_fields_set
    patch = await _screened(session, user_id, patch)
    today = clock.today()
    if "birth_date" in fields:
        if patch.birth_date is None:
            raise Unprocessable("birth_date cannot be removed.", code="invalid_birth_date")
        age = age_on(patch.birth_date, today)
        if age < 18:
            raise Unprocessable("You must be 18 or older to use Rapport.", code="underage")
        if age > 120:
            raise Unprocessable("birth_date is not plausible.", code="invalid_birth_date")
        p.birth_date = patch.birth_date
    for name in ("display_name", "bio", "city"):
        if name in fields:
            value = getattr(patch, name)
            if value is None and name == "display_name":
                raise Unprocessable("display_name cannot be removed.", code="invalid_display_name")
            setattr(p, name, value if value is not None else ("" if name == "bio" else None))
    if "gender" in fields:
        if patch.gender is None:
            raise Unprocessable("gender cannot be removed.", code="invalid_gender")
        p.gender = patch.gender
        p.gender_bit = GENDER_BITS[patch.gender]
    if "seeking" in fields:
        if patch.seeking is None:
            raise Unprocessable("seeking cannot be removed.", code="invalid_seeking")
        p.seeking_mask = sum(GENDER_BITS[g] for g in set(patch.seeking.genders))
        p.age_min, p.age_max = patch.seeking.age_min, patch.seeking.age_max
    if "languages" in fields:
        p.languages = list(patch.languages or [])
    if "interests" in fields:
        await repo.replace_interests(session, user_id, normalise_interests(patch.interests or []))
    if "location" in fields:
        await enforce(
            limiter,
            f"location:{user_id}",
            settings.location_updates_per_hour,
            3600,
            "location changes",
        )
        if patch.location is None:
            p.lat = p.lon = None
        else:
            p.lat, p.lon = geo.snap(
                patch.location.lat, patch.location.lon, settings.location_grid_km
            )
        p.location_updated_at = clock.now()
    if "locale" in fields and patch.locale is not None:
        await accounts.set_locale(session, user_id, patch.locale)
    p.updated_at = clock.now()
    await session.flush()
    return await my_profile(session, user_id, settings)


async def _screened(
    session: AsyncSession, user_id: uuid.UUID, patch: ProfileUpdate
) -> ProfileUpdate:
    """The patch after the word filter saw every text others will read (refused, masked or
    queued for review; see moderation.gate.screen_profile)."""
    texts = {
        name: value
        for name in ("display_name", "bio", "city")
        if isinstance(value := getattr(patch, name), str) and value
    }
    texts.update({f"interest:{i}": t for i, t in enumerate(patch.interests or [])})
    if not texts:
        return patch
    screened = await moderation_gate.of(session).screen_profile(session, user_id, texts)
    if screened == texts:
        return patch
    changes: dict[str, Any] = {k: v for k, v in screened.items() if ":" not in k}
    if patch.interests:
        changes["interests"] = [screened[f"interest:{i}"] for i in range(len(patch.interests))]
    return patch.model_copy(update=changes)


def activity_bucket(last_active: datetime, now: datetime) -> Activity:
    if now - last_active < timedelta(days=1):
        return "today"
    if now - last_active < timedelta(days=7):
        return "this_week"
    return "earlier"


def distance_between(a: Profile, b: Profile) -> float | None:
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    return geo.distance_km(a.lat, a.lon, b.lat, b.lon)


async def cards(
    session: AsyncSession, viewer: Profile | None, profiles: Sequence[Profile]
) -> dict[uuid.UUID, PublicProfile]:
    """Public views of ``profiles`` as ``viewer`` may see them (inactive accounts dropped)."""
    ids = [p.user_id for p in profiles]
    interests = await repo.interests_for(session, ids)
    activity = await accounts.activity(session, ids)
    now = clock.now()
    out: dict[uuid.UUID, PublicProfile] = {}
    for p in profiles:
        status, last_active = activity.get(p.user_id, ("missing", now))
        if status != "active" or not is_complete(p):
            continue
        if p.display_name is None or p.birth_date is None or p.gender is None:
            continue  # unreachable after is_complete; narrows the types
        km = distance_between(viewer, p) if viewer is not None else None
        out[p.user_id] = PublicProfile(
            id=p.user_id,
            display_name=p.display_name,
            age=age_on(p.birth_date, now.date()),
            gender=p.gender,
            bio=p.bio,
            interests=labels(interests[p.user_id]),
            languages=list(p.languages),
            city=p.city,
            distance=geo.bucket(km) if km is not None else None,
            active=activity_bucket(last_active, now),
        )
    return out


async def visible_profile(
    session: AsyncSession, viewer_id: uuid.UUID, target_id: uuid.UUID
) -> PublicProfile:
    """A public profile, or 404 when the viewer may not see it (blocked, hidden, inactive)."""
    target = await repo.get(session, target_id)
    if (
        target is None
        or target.hidden
        or target_id == viewer_id
        or await moderation.is_blocked(session, viewer_id, target_id)
    ):
        raise NotFound("No such user.", code="user_not_found")
    viewer = await repo.get(session, viewer_id)
    card = (await cards(session, viewer, [target])).get(target_id)
    if card is None:
        raise NotFound("No such user.", code="user_not_found")
    return card


async def require_visible(
    session: AsyncSession, viewer_id: uuid.UUID, target_id: uuid.UUID
) -> None:
    """Raise 404 unless ``viewer`` may see ``target``'s profile."""
    await visible_profile(session, viewer_id, target_id)


async def candidates(
    session: AsyncSession,
    viewer_id: uuid.UUID,
    exclude: Collection[uuid.UUID],
    max_km: float | None,
    pool: int,
) -> tuple[Profile, list[Profile]]:
    """The viewer's profile and others fitting both people's preferences and the distance."""
    viewer = await get_or_create(session, viewer_id)
    if not is_complete(viewer):
        raise Unprocessable(
            "Complete your profile (name, birth date, gender, who you are looking for) first.",
            code="profile_incomplete",
        )
    assert viewer.birth_date is not None
    today = clock.today()
    born_after, born_before = birth_bounds(viewer.age_min, viewer.age_max, today)
    bbox = None
    if max_km is not None and viewer.lat is not None and viewer.lon is not None:
        bbox = geo.bounding_box(viewer.lat, viewer.lon, max_km)
    found = await repo.candidates(
        session,
        viewer=viewer,
        viewer_age=age_on(viewer.birth_date, today),
        born_after=born_after,
        born_on_or_before=born_before,
        exclude=list(exclude),
        bbox=bbox,
        limit=pool,
    )
    if bbox is not None and max_km is not None:
        found = [p for p in found if (distance_between(viewer, p) or 0.0) <= max_km]
    return viewer, found


async def profile_of(session: AsyncSession, user_id: uuid.UUID) -> Profile | None:
    """The user's profile row, if any."""
    return await repo.get(session, user_id)


async def profiles_of(session: AsyncSession, ids: Collection[uuid.UUID]) -> list[Profile]:
    """Profile rows of ``ids`` (missing ones skipped)."""
    return await repo.profiles_by_ids(session, ids)


async def interests_map(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """Interest tags per user."""
    return await repo.interests_for(session, ids)


async def tag_rarity(session: AsyncSession, tags: Collection[str]) -> tuple[dict[str, int], int]:
    """How many visible profiles carry each tag, and how many visible profiles there are."""
    return await repo.tag_frequencies(session, tags), await repo.count_visible(session)


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """The stored profile, as held (location as its grid cell, never finer)."""
    p = await repo.get(session, user_id)
    if p is None:
        return {}
    return {
        "display_name": p.display_name,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "gender": p.gender,
        "seeking": seeking.model_dump() if (seeking := seeking_of(p)) else None,
        "bio": p.bio,
        "interests": await repo.interests_of(session, user_id),
        "languages": p.languages,
        "city": p.city,
        "location_grid_cell": {"lat": p.lat, "lon": p.lon} if p.lat is not None else None,
        "location_updated_at": p.location_updated_at.isoformat() if p.location_updated_at else None,
        "updated_at": p.updated_at.isoformat(),
    }


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Delete the profile and its interests."""
    return {"profile_rows_deleted": await repo.delete_profile(session, user_id)}
