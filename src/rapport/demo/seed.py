"""Seed demo data through the same services real users go through."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapport.accounts import repository as accounts_repo
from rapport.accounts.service import ClientInfo
from rapport.config import Settings
from rapport.kit.db import transaction
from rapport.matching import service as matching
from rapport.profiles import service as profiles
from rapport.profiles.schemas import LocationIn, ProfileUpdate, Seeking
from rapport.runtime import build_runtime

SEED_CLIENT = ClientInfo(ip="127.0.0.1", user_agent="rapport-demo")


@dataclass
class Login:
    email: str
    note: str


@dataclass
class SeedResult:
    created: int = 0
    existing: int = 0
    matches: int = 0
    logins: list[Login] = field(default_factory=list)


async def seed(
    settings: Settings,
    people: list[dict[str, Any]],
    password: str,
    on_progress: Callable[[], object] = lambda: None,
) -> SeedResult:
    """Create each demo person (skipping ones that exist), then match the 1st with the 3rd."""
    # Seeding registers many accounts from one address on purpose: lift that one limit.
    rt = build_runtime(settings.model_copy(update={"register_max_per_ip": 1_000_000}))
    accounts = rt.accounts
    result = SeedResult()
    ids: dict[str, uuid.UUID] = {}
    try:
        for person in people:
            async with transaction(rt.sessionmaker) as session:
                user = await accounts_repo.user_by_email(session, person["email"])
                if user is not None:
                    ids[person["key"]] = user.id
                    result.existing += 1
                    on_progress()
                    continue
                user, _ = await accounts.register(
                    session,
                    person["email"],
                    password,
                    SEED_CLIENT,
                    "zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in person["bio"]) else "en",
                )
                ids[person["key"]] = user.id
                await profiles.update(
                    session, user.id, _profile_patch(person), settings, rt.limiter
                )
                result.created += 1
            on_progress()
        first, third = people[0]["key"], people[2]["key"]
        async with transaction(rt.sessionmaker) as session:
            await matching.like(session, ids[first], ids[third], rt.limiter)
            outcome = await matching.like(session, ids[third], ids[first], rt.limiter)
            result.matches = int(outcome.matched)
        result.logins = [
            Login(
                people[0]["email"],
                f"{people[0]['display_name']}: has a match, "
                f"and {people[1]['display_name']} in discovery",
            ),
            Login(
                people[1]["email"],
                f"{people[1]['display_name']}: like {people[0]['display_name']} back to match",
            ),
        ]
    finally:
        await rt.close()
    return result


def _profile_patch(p: dict[str, Any]) -> ProfileUpdate:
    return ProfileUpdate(
        display_name=p["display_name"],
        birth_date=date.fromisoformat(p["birth_date"]),
        gender=p["gender"],
        seeking=Seeking(genders=p["seeking_genders"], age_min=p["age_min"], age_max=p["age_max"]),
        bio=p["bio"],
        interests=p["interests"],
        languages=p["languages"],
        city=p["city"],
        location=LocationIn(lat=p["lat"], lon=p["lon"]),
    )
