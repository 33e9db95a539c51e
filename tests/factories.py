"""Plain-function factories: users with complete profiles, created through the API."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@dataclass
class TestUser:
    id: uuid.UUID
    email: str
    headers: dict[str, str]
    refresh_token: str


async def register(client: httpx.AsyncClient, email: str | None = None) -> TestUser:
    email = email or f"user{next(_seq)}-{uuid.uuid4().hex[:6]}@example.com"
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    return TestUser(
        id=uuid.UUID(body["user_id"]),
        email=email,
        headers={"Authorization": f"Bearer {body['access_token']}"},
        refresh_token=body["refresh_token"],
    )


def profile(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "display_name": "Test Person",
        "birth_date": "1995-06-15",
        "gender": "woman",
        "seeking": {"genders": ["man"], "age_min": 25, "age_max": 40},
        "bio": "Loves long walks.",
        "interests": ["outdoors.hiking", "music.jazz", "food_drink.hotpot"],
        "languages": ["en", "zh"],
        "city": "Shanghai",
        "location": {"lat": 31.2304, "lon": 121.4737},
    }
    data.update(overrides)
    return data


async def create_user(client: httpx.AsyncClient, **overrides: Any) -> TestUser:
    """Register and fill a complete profile (overrides go into the PATCH body)."""
    user = await register(client)
    r = await client.patch("/api/v1/me", json=profile(**overrides), headers=user.headers)
    assert r.status_code == 200, r.text
    return user


async def create_pair(client: httpx.AsyncClient) -> tuple[TestUser, TestUser]:
    """A woman seeking men and a man seeking women, compatible in every filter."""
    a = await create_user(client, display_name="Ann")
    b = await create_user(
        client,
        display_name="Ben",
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        birth_date="1993-02-01",
        location={"lat": 31.25, "lon": 121.49},
    )
    return a, b


async def match(client: httpx.AsyncClient, a: TestUser, b: TestUser) -> dict[str, Any]:
    r1 = await client.post(f"/api/v1/users/{b.id}/like", headers=a.headers)
    assert r1.status_code == 200, r1.text
    r2 = await client.post(f"/api/v1/users/{a.id}/like", headers=b.headers)
    assert r2.status_code == 200, r2.text
    body: dict[str, Any] = r2.json()
    assert body["matched"] is True
    return body["match"]  # type: ignore[no-any-return]
