"""Rapport's own triggers: new messages for people who are away, and new matches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from rapport.kit.db import transaction
from rapport.notifications import tasks, triggers
from rapport.notifications.tasks import Notifier
from rapport.runtime import Runtime
from tests import factories
from tests.factories import create_pair, match
from tests.notifications.pushstub import Device, PushStub

INBOX = "/api/v1/notifications"


@pytest.fixture
async def notifier(rt: Runtime) -> AsyncIterator[Notifier]:
    yield tasks.install(rt, db_slots=1)
    await rt.bus.drain()


async def items(client: httpx.AsyncClient, user: factories.TestUser) -> list[dict[str, Any]]:
    r = await client.get(INBOX, headers=user.headers)
    assert r.status_code == 200
    return r.json()["items"]  # type: ignore[no-any-return]


async def matched(
    client: httpx.AsyncClient, rt: Runtime, a: factories.TestUser, b: factories.TestUser
) -> dict[str, Any]:
    """Match two people and let the notifications settle (tests share one connection)."""
    m = await match(client, a, b)
    await rt.bus.drain()
    return m


async def send(
    client: httpx.AsyncClient, rt: Runtime, user: factories.TestUser, conv: str, body: str
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=user.headers,
        json={"client_msg_id": f"m-{body[:20].encode().hex()}", "body": body},
    )
    assert r.status_code == 201, r.text
    await rt.bus.drain()
    return r.json()  # type: ignore[no-any-return]


async def devices(
    client: httpx.AsyncClient, stub: PushStub, *users: factories.TestUser
) -> list[Device]:
    out = []
    for user in users:
        dev = stub.device()
        r = await client.post(
            "/api/v1/push/subscriptions", headers=user.headers, json=dev.subscription()
        )
        assert r.status_code == 201
        out.append(dev)
    return out


async def test_a_match_notifies_both_people(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    ann, ben = await create_pair(client)
    ann_dev, ben_dev = await devices(client, pushstub, ann, ben)
    await rt.presence.add(ben.id, "ben-socket")  # Ben is connected: inbox + socket, no push
    m = await matched(client, rt, ann, ben)
    [for_ann] = await items(client, ann)
    [for_ben] = await items(client, ben)
    assert (for_ann["kind"], for_ann["title"]) == ("match", "It's a match!")
    assert for_ann["body"] == "You and Ben like each other. Say hello!"
    assert for_ben["body"] == "You and Ann like each other. Say hello!"
    assert for_ann["data"] == {
        "match_id": str(m["id"]),
        "conversation_id": str(m["conversation_id"]),
        "peer_id": str(ben.id),
        "url": f"/chat/{m['conversation_id']}",
    }
    [push] = pushstub.received(ann_dev)
    assert push.problems == [] and push.payload is not None
    assert push.payload["id"] == for_ann["id"] and push.payload["kind"] == "match"
    assert pushstub.received(ben_dev) == []


async def test_messages_for_someone_away_collapse_per_conversation(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    ann, ben = await create_pair(client)
    conv = str((await matched(client, rt, ann, ben))["conversation_id"])
    await client.post(f"{INBOX}/read", headers=ben.headers, json={"all": True})
    ann_dev, ben_dev = await devices(client, pushstub, ann, ben)
    first = await send(client, rt, ann, conv, "Hi   Ben,\nhotpot tonight?")
    [note] = [i for i in await items(client, ben) if i["kind"] == "message"]
    assert note["title"] == "New message from Ann"
    assert note["body"] == "Hi Ben, hotpot tonight?"
    assert note["data"]["message_id"] == first["id"]
    assert note["data"]["url"] == f"/chat/{conv}"
    await send(client, rt, ann, conv, "x" * 300)
    [again] = [i for i in await items(client, ben) if i["kind"] == "message"]
    assert again["id"] == note["id"]
    assert again["title"] == "2 new messages from Ann"
    assert again["body"] == "x" * (triggers.PREVIEW_MAX - 1) + "…"
    pushes = pushstub.received(ben_dev)
    assert [p.problems for p in pushes] == [[], []]
    assert [p.payload["title"] for p in pushes if p.payload] == [
        "New message from Ann",
        "2 new messages from Ann",
    ]
    assert pushes[0].headers["topic"] == pushes[1].headers["topic"]  # the service may replace
    assert pushes[0].headers["urgency"] == "high"
    # The sender is never told about their own messages.
    assert [i["kind"] for i in await items(client, ann)] == ["match"]
    assert pushstub.received(ann_dev) == []
    # Once Ben is connected, the socket delivers: no new entry, no push.
    await rt.presence.add(ben.id, "ben-socket")
    await send(client, rt, ann, conv, "are you there?")
    assert [i["title"] for i in await items(client, ben) if i["kind"] == "message"] == [
        "2 new messages from Ann"
    ]
    assert len(pushstub.received(ben_dev)) == 2


async def test_locale_and_switches_apply(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier
) -> None:
    ann, ben = await create_pair(client)
    r = await client.patch("/api/v1/me", headers=ben.headers, json={"locale": "zh-CN"})
    assert r.status_code == 200, r.text
    conv = str((await matched(client, rt, ann, ben))["conversation_id"])
    await rt.bus.drain()
    assert [i["title"] for i in await items(client, ben)] == ["配对成功！"]
    await send(client, rt, ann, conv, "你好")
    assert (await items(client, ben))[0]["title"] == "Ann 发来一条新消息"
    r = await client.patch(
        "/api/v1/me/notification-settings", headers=ann.headers, json={"messages": False}
    )
    assert r.status_code == 200
    await send(client, rt, ben, conv, "hello Ann")
    assert [i["kind"] for i in await items(client, ann)] == ["match"]


async def test_no_notification_about_a_closed_or_blocked_conversation(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier
) -> None:
    ann, ben = await create_pair(client)
    conv = str((await matched(client, rt, ann, ben))["conversation_id"])
    message = await send(client, rt, ann, conv, "see you soon")
    assert [i["kind"] for i in await items(client, ben)] == ["message", "match"]
    r = await client.post(f"/api/v1/users/{ann.id}/block", headers=ben.headers)
    assert r.status_code == 200
    await rt.bus.drain()
    # The closed conversation's message entry (and its preview) is gone ...
    assert [i["kind"] for i in await items(client, ben)] == ["match"]
    # ... and a late event about it notifies nobody.
    async with transaction(rt.sessionmaker) as session:
        assert await triggers.notify_message(session, ben.id, message) is None
    assert [i["kind"] for i in await items(client, ben)] == ["match"]


async def test_non_text_messages_are_not_previewed(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier
) -> None:
    ann, ben = await create_pair(client)
    conv = str((await matched(client, rt, ann, ben))["conversation_id"])
    message = await send(client, rt, ann, conv, "secret words")
    await client.post(f"{INBOX}/read", headers=ben.headers, json={"all": True})
    async with transaction(rt.sessionmaker) as session:
        note = await triggers.notify_message(
            session, ben.id, {**message, "kind": "e2ee", "body": "ciphertext=="}
        )
    assert note is not None and note.body == "Sent you a message"
