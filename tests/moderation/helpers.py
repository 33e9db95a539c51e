"""Helpers for moderation tests: roles, sends, pairs in a conversation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rapport.accounts import service as accounts
from rapport.kit.db import transaction
from rapport.runtime import Runtime
from tests.factories import TestUser, create_pair, create_user, match


async def with_role(rt: Runtime, user: TestUser, role: str) -> TestUser:
    async with transaction(rt.sessionmaker) as session:
        assert await accounts.set_role(session, user.email, role)
    return user


async def staff(client: httpx.AsyncClient, rt: Runtime, role: str) -> TestUser:
    return await with_role(rt, await create_user(client, display_name=role.title()), role)


async def send(
    client: httpx.AsyncClient, conv: str, user: TestUser, body: str, **extra: Any
) -> httpx.Response:
    payload = {"client_msg_id": extra.pop("client_msg_id", uuid.uuid4().hex), "body": body}
    return await client.post(
        f"/api/v1/conversations/{conv}/messages", headers=user.headers, json={**payload, **extra}
    )


async def chatting_pair(client: httpx.AsyncClient) -> tuple[TestUser, TestUser, str]:
    a, b = await create_pair(client)
    return a, b, str((await match(client, a, b))["conversation_id"])


async def history(client: httpx.AsyncClient, conv: str, user: TestUser) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/conversations/{conv}/messages", headers=user.headers)
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


async def sanction(
    client: httpx.AsyncClient, admin: TestUser, user: TestUser, level: str, **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/admin/users/{user.id}/sanctions",
        headers=admin.headers,
        json={"level": level, "reason": f"test {level}", **extra},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body
