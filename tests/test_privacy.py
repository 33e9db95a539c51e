from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts.models import User
from rapport.profiles.models import Profile
from tests.factories import PASSWORD, create_pair, match


async def test_export_contains_everything_held(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    m = await match(client, a, b)
    await client.post(f"/api/v1/users/{b.id}/block", headers=a.headers)
    r = await client.get("/api/v1/me/export", headers=a.headers)
    assert r.status_code == 200
    data = r.json()
    assert data["account"]["email"] == a.email
    assert data["profile"]["display_name"] == "Ann"
    assert data["profile"]["location_grid_cell"]["lat"] != 31.2304
    assert [x["id"] for x in data["matching"]["matches"]] == [m["id"]]
    assert data["matching"]["swipes"][0]["target_id"] == str(b.id)
    assert data["moderation"]["blocks"][0]["blocked_id"] == str(b.id)
    assert data["account"]["sessions"]
    assert "password" not in r.text and "token_hash" not in r.text


async def test_erasure_removes_and_reports(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, b = await create_pair(client)
    await match(client, a, b)
    wrong = await client.request(
        "DELETE", "/api/v1/me", headers=a.headers, json={"password": "nope"}
    )
    assert wrong.status_code == 403
    r = await client.request("DELETE", "/api/v1/me", headers=a.headers, json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    removed = r.json()["removed"]
    assert removed["matches_ended"] == 1
    assert removed["profile_rows_deleted"] >= 1
    assert removed["sessions_and_tokens_deleted"] >= 2
    assert (await client.get("/api/v1/me", headers=a.headers)).status_code == 401
    login = await client.post("/api/v1/auth/login", json={"email": a.email, "password": PASSWORD})
    assert login.status_code == 401
    assert (await client.get("/api/v1/matches", headers=b.headers)).json() == []
    user = await session.get(User, a.id)
    assert user is not None and user.email is None and user.status == "erased"
    assert await session.get(Profile, a.id) is None
    # The email can be used again for a new account.
    again = await client.post(
        "/api/v1/auth/register", json={"email": a.email, "password": PASSWORD}
    )
    assert again.status_code == 201
