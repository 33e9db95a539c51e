"""Web Push: subscriptions, and delivery to a local push service that checks RFC 8030 / 8291 /
8292 and decrypts each push with the subscription's keys (pushstub.py)."""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from rapport.app import create_app
from rapport.kit.clock import FrozenClock, set_clock
from rapport.notifications import service, tasks
from rapport.notifications.models import PushSubscription
from rapport.notifications.tasks import Notifier
from rapport.runtime import Runtime
from tests import factories
from tests.conftest import make_settings
from tests.factories import register
from tests.notifications.conftest import SUBJECT, VAPID_PUBLIC
from tests.notifications.helpers import notify
from tests.notifications.pushstub import Device, PushStub, b64url, b64url_decode

SUBS = "/api/v1/push/subscriptions"


@pytest.fixture
async def notifier(rt: Runtime) -> AsyncIterator[Notifier]:
    yield tasks.install(rt, db_slots=1)
    await rt.bus.drain()


async def subscribe(client: httpx.AsyncClient, user: factories.TestUser, dev: Device) -> None:
    r = await client.post(SUBS, headers=user.headers, json=dev.subscription())
    assert r.status_code == 201, r.text


async def rows(rt: Runtime) -> dict[str, PushSubscription]:
    async with rt.sessionmaker() as session:
        return {s.endpoint: s for s in await session.scalars(select(PushSubscription))}


def pushes_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("rapport_web_push_total", {"outcome": outcome}) or 0.0


# -- keys and subscriptions -------------------------------------------------------------------


async def test_vapid_key_is_the_application_server_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/push/vapid-key")
    assert r.status_code == 200
    key = r.json()["public_key"]
    assert key == VAPID_PUBLIC and "=" not in key
    raw = b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4


async def test_vapid_key_is_404_when_push_is_off(rt: Runtime) -> None:
    app = create_app(runtime=dataclasses.replace(rt, settings=make_settings()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rapport.test"
    ) as c:
        r = await c.get("/api/v1/push/vapid-key")
    assert r.status_code == 404 and r.json()["code"] == "push_not_configured"


def keys(p256dh: bytes | None = None, auth: bytes | None = None) -> dict[str, str]:
    sub = Device.create("https://push.example.com/send/1").subscription()["keys"]
    if p256dh is not None:
        sub["p256dh"] = b64url(p256dh)
    if auth is not None:
        sub["auth"] = b64url(auth)
    return sub


BAD_ENDPOINTS = [
    "http://push.example.com/send/1",  # plain http, host not allow-listed
    "ftp://push.example.com/send/1",
    "https://10.1.2.3/send/1",
    "https://169.254.169.254/latest",
    "https://[::1]/send/1",
    "https://localhost/send/1",
    "https://127.1/send/1",
    "https://0x7f000001/send/1",
    "https://user:pw@push.example.com/send/1",
    "https:///send/1",
]


@pytest.mark.parametrize("endpoint", BAD_ENDPOINTS)
async def test_endpoints_that_could_reach_inside_are_refused(
    client: httpx.AsyncClient, rt: Runtime, endpoint: str
) -> None:
    user = await register(client)
    body = {"endpoint": endpoint, "expirationTime": None, "keys": keys()}
    r = await client.post(SUBS, headers=user.headers, json=body)
    assert r.status_code == 422, endpoint
    assert r.json()["code"] == "push_endpoint_rejected"
    assert await rows(rt) == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"p256dh": b"\x04" + b"\x01" * 63},  # 64 bytes
        {"p256dh": b"\x02" + b"\x01" * 64},  # not uncompressed
        {"p256dh": b"\x04" + b"\xff" * 64},  # not a point on P-256
        {"auth": os.urandom(15)},
        {"auth": os.urandom(32)},
    ],
)
async def test_subscription_keys_are_checked(
    client: httpx.AsyncClient, bad: dict[str, bytes]
) -> None:
    user = await register(client)
    body = {"endpoint": "https://push.example.com/send/1", "keys": keys(**bad)}
    r = await client.post(SUBS, headers=user.headers, json=body)
    assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text


async def test_malformed_and_expired_subscriptions(client: httpx.AsyncClient) -> None:
    user = await register(client)
    good = {"endpoint": "https://push.example.com/send/1", "keys": keys()}
    for body in (
        {**good, "keys": {**good["keys"], "p256dh": "not base64!"}},  # type: ignore[dict-item]
        {"endpoint": good["endpoint"]},
        {**good, "endpoint": "https://push.example.com/" + "a" * 2100},
        {**good, "expirationTime": -1},
    ):
        assert (await client.post(SUBS, headers=user.headers, json=body)).status_code == 422
    past = {**good, "expirationTime": 1_000_000_000_000}  # 2001
    r = await client.post(SUBS, headers=user.headers, json=past)
    assert r.status_code == 422 and r.json()["code"] == "push_subscription_expired"
    future = {**good, "expirationTime": 4_102_444_800_000}  # 2100
    r = await client.post(SUBS, headers=user.headers, json=future)
    assert r.status_code == 201 and r.json()["expirationTime"] == 4_102_444_800_000


async def test_subscribe_is_an_upsert_by_endpoint(
    client: httpx.AsyncClient, rt: Runtime, pushstub: PushStub
) -> None:
    ann, ben = await register(client), await register(client)
    dev = pushstub.device()
    await subscribe(client, ann, dev)
    await subscribe(client, ann, dev)
    assert [s.user_id for s in (await rows(rt)).values()] == [ann.id]
    # The browser now belongs to Ben (same endpoint): the subscription moves to him.
    await subscribe(client, ben, dev)
    assert [s.user_id for s in (await rows(rt)).values()] == [ben.id]
    # Ann can no longer remove it; Ben can.
    r = await client.request("DELETE", SUBS, headers=ann.headers, json={"endpoint": dev.endpoint})
    assert r.status_code == 204
    assert list(await rows(rt)) == [dev.endpoint]
    r = await client.request("DELETE", SUBS, headers=ben.headers, json={"endpoint": dev.endpoint})
    assert r.status_code == 204
    assert await rows(rt) == {}


async def test_a_user_keeps_the_newest_subscriptions(
    client: httpx.AsyncClient, rt: Runtime, pushstub: PushStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_SUBSCRIPTIONS", 2)
    user = await register(client)
    devs = [pushstub.device() for _ in range(3)]
    for dev in devs:
        await subscribe(client, user, dev)
    assert set(await rows(rt)) == {devs[1].endpoint, devs[2].endpoint}


# -- delivery ---------------------------------------------------------------------------------


async def test_a_push_is_encrypted_signed_and_decryptable(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    user = await register(client)
    dev = pushstub.device()
    await subscribe(client, user, dev)
    note_id = await notify(
        rt,
        user.id,
        "reminder",
        title="Say hi to Mei 👋",
        body="你们已经一天没聊天了",
        data={"url": "/chat/abc"},
        collapse_key="reminder:abc",
    )
    [delivery] = pushstub.received(dev)
    assert delivery.problems == []
    assert delivery.status == 201
    assert delivery.payload == {
        "title": "Say hi to Mei 👋",
        "body": "你们已经一天没聊天了",
        "url": "/chat/abc",
        "kind": "reminder",
        "id": note_id,
    }
    assert delivery.headers["ttl"] == "86400"
    assert delivery.headers["urgency"] == "normal"
    assert len(delivery.headers["topic"]) == 32
    assert delivery.claims is not None
    assert delivery.claims["aud"] == pushstub.origin and delivery.claims["sub"] == SUBJECT
    assert (await rows(rt))[dev.endpoint].last_success_at is not None


async def test_each_push_service_gets_its_own_audience(
    client: httpx.AsyncClient,
    rt: Runtime,
    notifier: Notifier,
    pushstub: PushStub,
    other_pushstub: PushStub,
) -> None:
    user = await register(client)
    here, there = pushstub.device(), other_pushstub.device()
    await subscribe(client, user, here)
    await subscribe(client, user, there)
    for _ in range(2):  # a second round too: no claim may be left over from the first
        await notify(rt, user.id, "match", title="It's a match!")
    for stub, dev in ((pushstub, here), (other_pushstub, there)):
        deliveries = stub.received(dev)
        assert [d.problems for d in deliveries] == [[], []]
        assert {d.claims["aud"] for d in deliveries if d.claims} == {stub.origin}
        assert deliveries[0].headers["urgency"] == "high"


async def test_gone_subscriptions_are_dropped_and_failing_ones_kept(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    user = await register(client)
    ok, missing, gone, broken = (pushstub.device(s) for s in (201, 404, 410, 500))
    for dev in (ok, missing, gone, broken):
        await subscribe(client, user, dev)
    before = {o: pushes_counted(o) for o in ("sent", "gone", "failed")}
    await notify(rt, user.id)
    assert {o: pushes_counted(o) - n for o, n in before.items()} == {
        "sent": 1,
        "gone": 2,
        "failed": 1,
    }
    for dev in (ok, missing, gone, broken):
        assert [d.problems for d in pushstub.received(dev)] == [[]]
    left = await rows(rt)
    assert set(left) == {ok.endpoint, broken.endpoint}
    assert left[broken.endpoint].failures == 1 and left[ok.endpoint].failures == 0
    broken.status = 201
    await notify(rt, user.id)
    assert (await rows(rt))[broken.endpoint].failures == 0


async def test_repeated_failures_drop_a_subscription(
    client: httpx.AsyncClient,
    rt: Runtime,
    notifier: Notifier,
    pushstub: PushStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "MAX_FAILURES", 2)
    user = await register(client)
    dev = pushstub.device(503)
    await subscribe(client, user, dev)
    await notify(rt, user.id)
    assert dev.endpoint in await rows(rt)
    await notify(rt, user.id)
    assert await rows(rt) == {}


async def test_unreachable_push_service_counts_as_a_failure(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier
) -> None:
    user = await register(client)
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dev = Device.create(f"http://127.0.0.1:{port}/push/x")
    await subscribe(client, user, dev)
    await notify(rt, user.id)
    assert (await rows(rt))[dev.endpoint].failures == 1


async def test_no_push_when_online_when_asked_not_to_or_expired(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    user = await register(client)
    dev = pushstub.device()
    await subscribe(client, user, dev)
    await rt.presence.add(user.id, "sid-1")
    assert await notify(rt, user.id) is not None  # stored, and sent to the socket instead
    await rt.presence.remove(user.id, "sid-1")
    assert await notify(rt, user.id, push=False) is not None
    assert pushstub.received(dev) == []
    await notify(rt, user.id)
    assert len(pushstub.received(dev)) == 1
    # A subscription past its expirationTime is dropped instead of used.
    async with rt.sessionmaker() as session, session.begin():
        row = await session.scalar(select(PushSubscription))
        assert row is not None
        row.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    await notify(rt, user.id)
    assert len(pushstub.received(dev)) == 1 and await rows(rt) == {}


async def test_quiet_hours_silence_push_but_not_the_inbox(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    user = await register(client)
    dev = pushstub.device()
    await subscribe(client, user, dev)
    r = await client.patch(
        "/api/v1/me/notification-settings",
        headers=user.headers,
        json={"quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Asia/Shanghai"}},
    )
    assert r.status_code == 200
    clock = FrozenClock(datetime(2026, 3, 1, 18, 0, tzinfo=UTC))  # 02:00 in Shanghai
    previous = set_clock(clock)
    try:
        await notify(rt, user.id, title="at night")
        assert pushstub.received(dev) == []
        clock.advance(hours=6)  # 08:00 in Shanghai: quiet hours are over
        await notify(rt, user.id, title="in the morning")
    finally:
        set_clock(previous)
    assert [d.payload["title"] for d in pushstub.received(dev) if d.payload] == ["in the morning"]
    r = await client.get("/api/v1/notifications", headers=user.headers)
    assert [i["title"] for i in r.json()["items"]] == ["in the morning", "at night"]


async def test_a_stored_endpoint_that_became_unsafe_is_not_called(
    client: httpx.AsyncClient, rt: Runtime, notifier: Notifier, pushstub: PushStub
) -> None:
    user = await register(client)
    dev = pushstub.device()
    async with rt.sessionmaker() as session, session.begin():
        session.add(
            PushSubscription(
                id=uuid.uuid4(),
                user_id=user.id,
                endpoint=dev.endpoint.replace("127.0.0.1", "127.0.0.2"),  # not allow-listed
                p256dh=dev.subscription()["keys"]["p256dh"],
                auth=dev.subscription()["keys"]["auth"],
            )
        )
    await notify(rt, user.id)
    assert pushstub.received(dev) == [] and await rows(rt) == {}
