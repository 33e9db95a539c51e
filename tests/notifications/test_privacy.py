"""Notifications in the data export, and what erasure removes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from rapport.notifications import tasks
from rapport.notifications.models import Notification, NotificationPreference, PushSubscription
from rapport.notifications.tasks import Notifier
from rapport.runtime import Runtime
from tests.factories import PASSWORD, create_pair, match
from tests.notifications.pushstub import PushStub


@pytest.fixture
async def notifier(rt: Runtime) -> AsyncIterator[Notifier]:
    yield tasks.install(rt, db_slots=1)
    await rt.bus.drain()


async def test_export_and_erasure(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    ann, ben = await create_pair(client)
    dev = pushstub.device()
    r = await client.post(
        "/api/v1/push/subscriptions", headers=ann.headers, json=dev.subscription()
    )
    assert r.status_code == 201
    quiet = {"start": "23:00", "end": "07:00", "timezone": "Europe/Berlin"}
    r = await client.patch(
        "/api/v1/me/notification-settings", headers=ann.headers, json={"quiet_hours": quiet}
    )
    assert r.status_code == 200
    conv = (await match(client, ann, ben))["conversation_id"]
    await rt.bus.drain()
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=ann.headers,
        json={"client_msg_id": "privacy-1", "body": "my words"},
    )
    assert r.status_code == 201
    await rt.bus.drain()

    exported = (await client.get("/api/v1/me/export", headers=ann.headers)).json()["notifications"]
    assert [n["kind"] for n in exported["notifications"]] == ["match"]
    assert exported["push_subscriptions"][0]["endpoint"] == dev.endpoint
    assert "p256dh" not in str(exported) and "auth" not in exported["push_subscriptions"][0]
    assert exported["preferences"]["quiet_hours"] == quiet

    r = await client.request(
        "DELETE", "/api/v1/me", headers=ann.headers, json={"password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    await rt.bus.drain()
    removed = r.json()["removed"]
    # Ann's match notice, and Ben's notices about Ann (the match and her message preview).
    assert removed["notifications_deleted"] == 3
    assert removed["push_subscriptions_deleted"] == 1
    assert removed["notification_preferences_deleted"] == 1
    async with rt.sessionmaker() as session:
        for model in (Notification, PushSubscription, NotificationPreference):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
    r = await client.get("/api/v1/notifications", headers=ben.headers)
    assert r.json() == {"items": [], "unread_count": 0}
