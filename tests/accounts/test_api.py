from __future__ import annotations

import argon2
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts.models import RefreshToken, User
from rapport.accounts.tokens import hash_refresh_token
from tests.factories import PASSWORD, register


async def test_register_login_and_me(client: httpx.AsyncClient) -> None:
    user = await register(client, "Someone@Example.com")
    r = await client.post(
        "/api/v1/auth/login", json={"email": "someone@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "someone@example.com"
    assert me.json()["id"] == str(user.id)


async def test_duplicate_email_conflicts(client: httpx.AsyncClient) -> None:
    await register(client, "dup@example.com")
    r = await client.post(
        "/api/v1/auth/register", json={"email": "DUP@example.com", "password": PASSWORD}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "email_taken"


async def test_weak_input_names_fields(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": "short"}
    )
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in body["errors"]} == {"body.email", "body.password"}


async def test_password_stored_as_argon2id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await register(client)
    stored = await session.get(User, user.id)
    assert stored is not None and stored.password_hash is not None
    params = argon2.extract_parameters(stored.password_hash)
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert PASSWORD not in stored.password_hash


async def test_wrong_password_and_unknown_account_look_alike(client: httpx.AsyncClient) -> None:
    await register(client, "real@example.com")
    a = await client.post(
        "/api/v1/auth/login", json={"email": "real@example.com", "password": "wrong-password"}
    )
    b = await client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": "wrong-password"}
    )
    assert a.status_code == b.status_code == 401
    assert a.json()["code"] == b.json()["code"] == "invalid_credentials"


async def test_refresh_rotates_and_reuse_revokes_family(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await register(client)
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    new_pair = first.json()
    assert new_pair["refresh_token"] != user.refresh_token
    # Only hashes are stored.
    rows = (await session.scalars(select(RefreshToken.token_hash))).all()
    assert hash_refresh_token(new_pair["refresh_token"]) in rows
    assert new_pair["refresh_token"] not in rows
    # Replaying the rotated token is theft: the whole family dies, including the newest tokens.
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_reused"
    after = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": new_pair["refresh_token"]}
    )
    assert after.status_code == 401
    assert after.json()["code"] == "session_revoked"
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {new_pair['access_token']}"}
    )
    assert me.status_code == 401


async def test_logout_revokes_access_token(client: httpx.AsyncClient) -> None:
    user = await register(client)
    other = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    other_headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    r = await client.post("/api/v1/auth/logout", headers=user.headers)
    assert r.status_code == 200 and r.json()["revoked_sessions"] == 1
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 200
    r = await client.post("/api/v1/auth/logout?everywhere=true", headers=other_headers)
    assert r.status_code == 200
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refreshed.status_code == 401


async def test_login_rate_limited_per_account(client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(5):
        r = await client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": "bad-password"}
        )
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_attempts"
    assert int(r.headers["retry-after"]) > 0


async def test_login_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    codes = []
    for i in range(31):
        r = await client.post(
            "/api/v1/auth/login",
            json={"email": f"nobody{i}@example.com", "password": "whatever-pw"},
        )
        codes.append(r.status_code)
    assert codes[:30] == [401] * 30
    assert codes[30] == 429


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic abc", "Token x"])
async def test_bad_authorization_headers(client: httpx.AsyncClient, header: str) -> None:
    r = await client.get("/api/v1/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["code"] in {"unauthorized", "token_invalid"}
