from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat.models import Message
from rapport.events.schemas import DomainEvent
from rapport.runtime import Runtime
from tests.factories import create_pair, create_user, match


def url(conv: str) -> str:
    return f"/api/v1/conversations/{conv}/messages"


def msg(body: str, cid: str | None = None) -> dict[str, str]:
    return {"client_msg_id": cid or uuid.uuid4().hex, "kind": "text", "body": body}


async def test_send_is_committed_ordered_and_idempotent(
    client: httpx.AsyncClient,
    session: AsyncSession,
    rt: Runtime,
    record_events: Callable[[str], list[DomainEvent]],
) -> None:
    events = record_events("message.created")
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    first = await client.post(url(conv), headers=a.headers, json=msg("hi", "client-0001"))
    assert first.status_code == 201, first.text
    m = first.json()
    assert m["seq"] == 1 and m["sender_id"] == str(a.id) and m["client_msg_id"] == "client-0001"
    # The ack was lost; the client retries with the same id (even with an edited body).
    retry = await client.post(url(conv), headers=a.headers, json=msg("hi again", "client-0001"))
    assert retry.status_code == 200
    assert retry.json() == m
    second = await client.post(url(conv), headers=b.headers, json=msg("hello"))
    assert second.json()["seq"] == 2
    count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 2
    await rt.bus.drain()
    assert [e.data["message"]["seq"] for e in events] == [1, 2]
    assert sorted(events[0].data["recipients"]) == sorted([str(a.id), str(b.id)])


async def test_seq_has_no_holes_after_rejections(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    for i in range(5):
        await client.post(url(conv), headers=a.headers, json=msg(f"m{i}"))
        bad = await client.post(
            url(conv), headers=a.headers, json={"client_msg_id": "x", "body": ""}
        )
        assert bad.status_code == 422
    page = (await client.get(url(conv), headers=b.headers)).json()
    assert [m["seq"] for m in page["messages"]] == [1, 2, 3, 4, 5]


async def test_history_pages_both_directions(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    for i in range(7):
        await client.post(url(conv), headers=a.headers, json=msg(f"m{i}"))
    newest = (await client.get(url(conv) + "?limit=3", headers=b.headers)).json()
    assert [m["seq"] for m in newest["messages"]] == [5, 6, 7] and newest["has_more"]
    older = (
        await client.get(url(conv) + f"?limit=3&before={newest['next_before']}", headers=b.headers)
    ).json()
    assert [m["seq"] for m in older["messages"]] == [2, 3, 4] and older["has_more"]
    oldest = (await client.get(url(conv) + "?limit=3&before=2", headers=b.headers)).json()
    assert [m["seq"] for m in oldest["messages"]] == [1] and not oldest["has_more"]
    forward = (await client.get(url(conv) + "?after=4&limit=2", headers=b.headers)).json()
    assert [m["seq"] for m in forward["messages"]] == [5, 6] and forward["has_more"]
    rest = (
        await client.get(url(conv) + f"?after={forward['next_after']}", headers=b.headers)
    ).json()
    assert [m["seq"] for m in rest["messages"]] == [7] and not rest["has_more"]


async def test_only_members_of_live_conversations(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    m = await match(client, a, b)
    conv = m["conversation_id"]
    eve = await create_user(client, display_name="Eve")
    assert (await client.post(url(conv), headers=eve.headers, json=msg("hi"))).status_code == 404
    assert (await client.get(url(conv), headers=eve.headers)).status_code == 404
    await client.post(url(conv), headers=a.headers, json=msg("before block", "kept-00001"))
    await client.post(f"/api/v1/users/{a.id}/block", headers=b.headers)
    for user in (a, b):
        r = await client.post(url(conv), headers=user.headers, json=msg("after"))
        assert r.status_code == 404
        assert (await client.get("/api/v1/conversations", headers=user.headers)).json() == []
    # A retry of a message committed before the block still gets its original answer.
    again = await client.post(url(conv), headers=a.headers, json=msg("before block", "kept-00001"))
    assert again.status_code == 200 and again.json()["seq"] == 1


async def test_conversation_list_counts_unread(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    empty = (await client.get("/api/v1/conversations", headers=b.headers)).json()
    assert empty[0]["last_message"] is None and empty[0]["unread_count"] == 0
    for i in range(3):
        await client.post(url(conv), headers=a.headers, json=msg(f"m{i}"))
    mine = (await client.get("/api/v1/conversations", headers=b.headers)).json()
    assert mine[0]["id"] == conv and mine[0]["peer_id"] == str(a.id)
    assert mine[0]["unread_count"] == 3 and mine[0]["last_message"]["body"] == "m2"
    theirs = (await client.get("/api/v1/conversations", headers=a.headers)).json()
    assert theirs[0]["unread_count"] == 0


async def test_client_msg_id_reuse_across_conversations_conflicts(
    client: httpx.AsyncClient,
) -> None:
    a, b = await create_pair(client)
    c = await create_user(
        client,
        display_name="Carl",
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
    )
    conv1 = (await match(client, a, b))["conversation_id"]
    conv2 = (await match(client, a, c))["conversation_id"]
    assert (
        await client.post(url(conv1), headers=a.headers, json=msg("x", "same-id-001"))
    ).status_code == 201
    r = await client.post(url(conv2), headers=a.headers, json=msg("x", "same-id-001"))
    assert r.status_code == 409 and r.json()["code"] == "client_msg_id_reused"


@pytest.mark.parametrize(
    "body",
    [
        {"client_msg_id": "short", "body": "x"},
        {"client_msg_id": "has spaces in it", "body": "x"},
        {"client_msg_id": "abcdefgh1", "body": "x" * 4001},
        {"client_msg_id": "abcdefgh2", "body": "x", "kind": "image"},
        {"client_msg_id": "abcdefgh3", "body": "x", "sender_id": "someone"},
    ],
)
async def test_bad_messages_are_rejected(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    r = await client.post(url(conv), headers=a.headers, json=body)
    assert r.status_code == 422
    assert (await client.get(url(conv), headers=a.headers)).json()["messages"] == []
