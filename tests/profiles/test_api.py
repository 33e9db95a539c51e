from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.profiles.models import Profile
from rapport.profiles.taxonomy import taxonomy
from tests.factories import create_pair, create_user, profile, register


def test_taxonomy_is_bilingual_and_large_enough() -> None:
    tax = taxonomy()
    assert len(tax.categories) >= 12
    assert len(tax.tags) >= 150
    assert all(t.en and t.zh for t in tax.tags.values())
    assert tax.resolve("Hiking") == "outdoors.hiking"
    assert tax.resolve("徒步") == "outdoors.hiking"
    assert tax.resolve("  #HIKING ") == "outdoors.hiking"
    assert tax.resolve("underwater basket weaving") == "free:underwater basket weaving"


async def test_patch_and_get_me(client: httpx.AsyncClient) -> None:
    user = await register(client)
    r = await client.patch(
        "/api/v1/me",
        headers=user.headers,
        json=profile(interests=["Hiking", "爵士乐", "knitting socks"]),
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["complete"] is True
    assert [i["id"] for i in me["interests"]] == sorted(
        ["outdoors.hiking", "music.jazz", "free:knitting socks"]
    )
    assert me["location"]["set"] is True
    # Exact coordinates are never returned, not even to the owner.
    assert "31.2304" not in r.text and "121.4737" not in r.text
    assert (await client.get("/api/v1/me", headers=user.headers)).json() == me


async def test_location_is_stored_snapped(client: httpx.AsyncClient, session: AsyncSession) -> None:
    user = await create_user(client)
    row = await session.get(Profile, user.id)
    assert row is not None and row.lat is not None and row.lon is not None
    assert (row.lat, row.lon) != (31.2304, 121.4737)


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"birth_date": "2015-01-01"}, "underage"),
        ({"birth_date": "1800-01-01"}, "invalid_birth_date"),
        ({"seeking": {"genders": ["man"], "age_min": 40, "age_max": 30}}, "validation_error"),
        ({"languages": ["english"]}, "validation_error"),
        ({"display_name": "   "}, "validation_error"),
        ({"location": {"lat": 91, "lon": 0}}, "validation_error"),
        ({"unknown_field": 1}, "validation_error"),
    ],
)
async def test_bad_profile_input_changes_nothing(
    client: httpx.AsyncClient, patch: dict[str, object], code: str
) -> None:
    user = await create_user(client)
    before = (await client.get("/api/v1/me", headers=user.headers)).json()
    r = await client.patch("/api/v1/me", headers=user.headers, json=patch)
    assert r.status_code == 422
    assert r.json()["code"] == code
    assert (await client.get("/api/v1/me", headers=user.headers)).json() == before


async def test_too_many_free_tags(client: httpx.AsyncClient) -> None:
    user = await register(client)
    r = await client.patch(
        "/api/v1/me", headers=user.headers, json={"interests": [f"odd hobby {i}" for i in range(6)]}
    )
    assert r.status_code == 422 and r.json()["code"] == "too_many_free_tags"


async def test_location_changes_are_rate_limited(client: httpx.AsyncClient) -> None:
    user = await register(client)
    statuses = []
    for i in range(11):
        r = await client.patch(
            "/api/v1/me", headers=user.headers, json={"location": {"lat": 31 + i / 100, "lon": 121}}
        )
        statuses.append(r.status_code)
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


async def test_public_profile_shows_bucket_not_distance(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    r = await client.get(f"/api/v1/users/{b.id}", headers=a.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["distance"] == "under_5km"
    assert set(body) == {
        "id",
        "display_name",
        "age",
        "gender",
        "bio",
        "interests",
        "languages",
        "city",
        "distance",
        "active",
    }
    assert "email" not in json.dumps(body)


async def test_incomplete_or_missing_profiles_are_not_found(client: httpx.AsyncClient) -> None:
    a = await create_user(client)
    bare = await register(client)
    assert (await client.get(f"/api/v1/users/{bare.id}", headers=a.headers)).status_code == 404
    assert (await client.get(f"/api/v1/users/{a.id}", headers=a.headers)).status_code == 404
    r = await client.get("/api/v1/users/00000000-0000-0000-0000-000000000000", headers=a.headers)
    assert r.status_code == 404 and r.json()["code"] == "user_not_found"


async def test_interests_endpoint(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/interests")
    assert r.status_code == 200
    assert len(r.json()["tags"]) >= 150
