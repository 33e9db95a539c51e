"""The inbox: notify(), listing and paging, mark read, collapse, and who may see what."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from rapport.events.schemas import DomainEvent
from rapport.kit.db import transaction
from rapport.notifications import service
from rapport.notifications.models import Notification
from rapport.runtime import Runtime
from tests.factories import create_user, register
from tests.notifications.helpers import notify

INBOX = "/api/v1/notifications"
Recorder = Callable[[str], list[DomainEvent]]


async def inbox(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> dict:  # type: ignore[type-arg]
    r = await client.get(INBOX, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_notify_stores_and_announces(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    user = await register(client)
    seen = record_events("notification.created")
    note_id = await notify(
        rt,
        user.id,
        "reminder",
        title="Say hi to Mei",
        body="It has been a day.",
        data={"conversation_id": uuid.UUID(int=7)},
    )
    page = await inbox(client, user.headers)
    assert page["unread_count"] == 1
    [item] = page["items"]
    assert item["id"] == note_id
    assert item["kind"] == "reminder"
    assert (item["title"], item["body"], item["read_at"]) == (
        "Say hi to Mei",
        "It has been a day.",
        None,
    )
    # UUIDs in data become strings; the click target defaults to the conversation.
    assert item["data"] == {
        "conversation_id": str(uuid.UUID(int=7)),
        "url": f"/chat/{uuid.UUID(int=7)}",
    }
    [event] = seen
    assert event.data["recipients"] == [str(user.id)]
    assert event.data["notification"] == item
    assert event.data["push"] is True


async def test_only_same_origin_paths_become_the_url(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    user = await register(client)
    for given, kept in [
        ("/matches", "/matches"),
        ("https://evil.example/phish", "/"),
        ("//evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        await notify(rt, user.id, data={"url": given})
        assert (await inbox(client, user.headers, limit=1))["items"][0]["data"]["url"] == kept


async def test_newest_first_and_paging_by_id(client: httpx.AsyncClient, rt: Runtime) -> None:
    user = await register(client)
    ids = [await notify(rt, user.id, title=f"n{i}") for i in range(5)]
    first = await inbox(client, user.headers, limit=2)
    assert [i["id"] for i in first["items"]] == [ids[4], ids[3]]
    second = await inbox(client, user.headers, limit=2, before=first["items"][-1]["id"])
    assert [i["id"] for i in second["items"]] == [ids[2], ids[1]]
    third = await inbox(client, user.headers, limit=2, before=second["items"][-1]["id"])
    assert [i["id"] for i in third["items"]] == [ids[0]]
    assert third["unread_count"] == 5
    r = await client.get(INBOX, headers=user.headers, params={"before": str(uuid.uuid4())})
    assert r.status_code == 422 and r.json()["code"] == "bad_cursor"
    for bad in ({"limit": 0}, {"limit": 101}, {"before": "nope"}):
        assert (await client.get(INBOX, headers=user.headers, params=bad)).status_code == 422


async def test_mark_read_by_ids_and_all(client: httpx.AsyncClient, rt: Runtime) -> None:
    user = await register(client)
    ids = [await notify(rt, user.id, title=f"n{i}") for i in range(3)]
    r = await client.post(f"{INBOX}/read", headers=user.headers, json={"ids": [ids[0], ids[2]]})
    assert r.status_code == 200 and r.json() == {"unread_count": 1}
    items = {i["id"]: i for i in (await inbox(client, user.headers))["items"]}
    assert items[ids[0]]["read_at"] and items[ids[2]]["read_at"] and not items[ids[1]]["read_at"]
    r = await client.post(f"{INBOX}/read", headers=user.headers, json={"all": True})
    assert r.json() == {"unread_count": 0}
    for bad in ({}, {"ids": []}, {"all": False}, {"ids": ids, "all": True}, {"ids": ["x"]}):
        r = await client.post(f"{INBOX}/read", headers=user.headers, json=bad)
        assert r.status_code == 422, bad


async def test_one_user_cannot_read_or_mark_anothers(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    ann, eve = await register(client), await register(client)
    ann_ids = [await notify(rt, ann.id, title=f"for Ann {i}") for i in range(2)]
    await notify(rt, eve.id, title="for Eve")
    eve_page = await inbox(client, eve.headers)
    assert [i["title"] for i in eve_page["items"]] == ["for Eve"]
    r = await client.get(INBOX, headers=eve.headers, params={"before": ann_ids[1]})
    assert r.status_code == 422  # Ann's id is no cursor for Eve
    r = await client.post(f"{INBOX}/read", headers=eve.headers, json={"ids": ann_ids})
    assert r.json() == {"unread_count": 1}  # Eve's own entry is still unread
    r = await client.post(f"{INBOX}/read", headers=eve.headers, json={"all": True})
    assert r.json() == {"unread_count": 0}
    ann_page = await inbox(client, ann.headers)
    assert ann_page["unread_count"] == 2
    assert all(i["read_at"] is None for i in ann_page["items"])


async def test_anonymous_calls_are_refused(client: httpx.AsyncClient) -> None:
    for method, url, body in [
        ("GET", INBOX, None),
        ("POST", f"{INBOX}/read", {"all": True}),
        ("GET", "/api/v1/me/notification-settings", None),
        ("PATCH", "/api/v1/me/notification-settings", {"messages": False}),
        ("POST", "/api/v1/push/subscriptions", {}),
        ("DELETE", "/api/v1/push/subscriptions", {"endpoint": "https://x.example/1"}),
    ]:
        r = await client.request(method, url, json=body)
        assert r.status_code == 401, (method, url)


async def test_collapse_updates_the_unread_entry(client: httpx.AsyncClient, rt: Runtime) -> None:
    user = await register(client)
    first = await notify(rt, user.id, "message", title="1 new", body="a", collapse_key="k")
    other = await notify(rt, user.id, title="unrelated")
    again = await notify(rt, user.id, "message", title="2 new", body="b", collapse_key="k")
    assert again == first
    page = await inbox(client, user.headers)
    assert [(i["id"], i["title"], i["body"]) for i in page["items"]] == [
        (first, "2 new", "b"),  # moved to the top
        (other, "unrelated", "Something happened."),
    ]
    assert page["unread_count"] == 2
    async with rt.sessionmaker() as session:
        assert (await session.get(Notification, uuid.UUID(first))).count == 2  # type: ignore[union-attr]
    # Once read, the key opens a new entry.
    await client.post(f"{INBOX}/read", headers=user.headers, json={"ids": [first]})
    third = await notify(rt, user.id, "message", title="1 new", body="c", collapse_key="k")
    assert third not in (first, other)
    assert (await inbox(client, user.headers))["unread_count"] == 2


async def test_disabled_kinds_store_nothing(client: httpx.AsyncClient, rt: Runtime) -> None:
    user = await register(client)
    r = await client.patch(
        "/api/v1/me/notification-settings",
        headers=user.headers,
        json={"messages": False, "matches": False, "reminders": False},
    )
    assert r.status_code == 200
    for kind in ("message", "match", "reminder"):
        assert await notify(rt, user.id, kind) is None
    assert await notify(rt, user.id, "system") is not None  # system notices are not optional
    assert [i["kind"] for i in (await inbox(client, user.headers))["items"]] == ["system"]


async def test_unknown_kind_and_missing_user(rt: Runtime) -> None:
    async with transaction(rt.sessionmaker) as session:
        with pytest.raises(ValueError, match="kind"):
            await service.notify(session, uuid.uuid4(), "promo", "t", "b")
        assert await service.notify(session, uuid.uuid4(), "system", "t", "b") is None


async def test_long_texts_are_clipped(client: httpx.AsyncClient, rt: Runtime) -> None:
    user = await register(client)
    await notify(rt, user.id, title="t" * 500, body="b" * 5000)
    [item] = (await inbox(client, user.headers))["items"]
    assert len(item["title"]) == service.TITLE_MAX and item["title"].endswith("…")
    assert len(item["body"]) == service.BODY_MAX


async def test_inbox_keeps_the_newest(
    client: httpx.AsyncClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "INBOX_MAX", 3)
    user = await create_user(client)
    ids = [await notify(rt, user.id, title=f"n{i}") for i in range(5)]
    assert [i["id"] for i in (await inbox(client, user.headers))["items"]] == ids[:1:-1]
    async with rt.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == user.id)
        )
    assert count == 3
