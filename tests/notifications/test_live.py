"""Black-box: a real `rapport serve` with VAPID keys, real sockets, and the local push service.

A user with no socket gets a Web Push for a new message (and for a match); a connected user
gets ``notification:new`` on the socket instead of a push.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import socketio

from tests.factories import profile
from tests.live import live_server
from tests.notifications.conftest import SUBJECT, VAPID_PRIVATE
from tests.notifications.pushstub import Delivery, Device, PushStub


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from live_server(
        tmp_path_factory,
        RAPPORT_VAPID_PRIVATE_KEY=VAPID_PRIVATE,
        RAPPORT_VAPID_SUBJECT=SUBJECT,
        RAPPORT_PUSH_ALLOWED_HTTP_HOSTS=json.dumps(["127.0.0.1"]),
        RAPPORT_PRESENCE_GRACE_S="0.5",
    )


class Person:
    def __init__(self, http: httpx.AsyncClient, user_id: str, token: str) -> None:
        self.http = http
        self.id = user_id
        self.headers = {"Authorization": f"Bearer {token}"}
        self.token = token


async def person(http: httpx.AsyncClient, **overrides: Any) -> Person:
    r = await http.post(
        "/api/v1/auth/register",
        json={"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "push-password-1"},
    )
    assert r.status_code == 201, r.text
    p = Person(http, r.json()["user_id"], r.json()["access_token"])
    r = await http.patch("/api/v1/me", json=profile(**overrides), headers=p.headers)
    assert r.status_code == 200, r.text
    return p


class Socket:
    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = {}
        for name in ("notification:new", "message:new", "match:new"):
            self.client.on(name, self.queue(name).put)

    def queue(self, name: str) -> asyncio.Queue[Any]:
        return self.events.setdefault(name, asyncio.Queue())

    async def next(self, name: str, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.queue(name).get(), timeout)


@pytest.fixture
async def connect(server: str) -> AsyncIterator[Callable[[Person], Any]]:
    opened: list[Socket] = []

    async def _connect(p: Person) -> Socket:
        sock = Socket()
        await sock.client.connect(
            server, auth={"token": p.token}, transports=["websocket"], wait_timeout=10
        )
        opened.append(sock)
        return sock

    yield _connect
    for sock in opened:
        if sock.client.connected:
            await sock.client.disconnect()


async def pushes(stub: PushStub, dev: Device, count: int, timeout: float = 15) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = stub.received(dev)
        if len(got) >= count:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} pushes, got {stub.received(dev)}")


async def test_push_when_away_socket_event_when_connected(
    server: str, connect: Callable[[Person], Any], pushstub: PushStub
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        r = await http.get("/api/v1/push/vapid-key")
        assert r.status_code == 200
        ann = await person(http, display_name="Ann")
        ben = await person(
            http,
            display_name="Ben",
            gender="man",
            seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        )
        ann_dev, ben_dev = pushstub.device(), pushstub.device()
        for p, dev in ((ann, ann_dev), (ben, ben_dev)):
            r = await http.post(
                "/api/v1/push/subscriptions", headers=p.headers, json=dev.subscription()
            )
            assert r.status_code == 201, r.text
        ben_socket = await connect(ben)

        # A match: Ben (connected) hears of it on his socket, Ann (away) by push.
        await http.post(f"/api/v1/users/{ben.id}/like", headers=ann.headers)
        r = await http.post(f"/api/v1/users/{ann.id}/like", headers=ben.headers)
        conv = r.json()["match"]["conversation_id"]
        note = await ben_socket.next("notification:new")
        assert note["kind"] == "match" and note["title"] == "It's a match!"
        assert note["data"]["conversation_id"] == conv and note["read_at"] is None
        [match_push] = await pushes(pushstub, ann_dev, 1)
        assert match_push.problems == []
        assert match_push.payload is not None and match_push.payload["kind"] == "match"

        # Ben writes while Ann is away: a push with the preview, no socket event for Ben.
        ack = await ben_socket.client.call(
            "message:send",
            {"conversation_id": conv, "client_msg_id": "live-push-1", "body": "Hotpot at 7?"},
            timeout=10,
        )
        assert ack["ok"], ack
        message_push = (await pushes(pushstub, ann_dev, 2))[1]
        assert message_push.problems == []
        assert message_push.payload is not None
        assert {k: v for k, v in message_push.payload.items() if k != "id"} == {
            "title": "New message from Ben",
            "body": "Hotpot at 7?",
            "url": f"/chat/{conv}",
            "kind": "message",
        }
        inbox = (await http.get("/api/v1/notifications", headers=ann.headers)).json()
        assert [i["kind"] for i in inbox["items"]] == ["message", "match"]
        assert inbox["items"][0]["id"] == message_push.payload["id"]

        # Ann connects: the next message arrives on her socket; no push, no new entry.
        ann_socket = await connect(ann)
        ack = await ben_socket.client.call(
            "message:send",
            {"conversation_id": conv, "client_msg_id": "live-push-2", "body": "Or 8?"},
            timeout=10,
        )
        assert ack["ok"], ack
        assert (await ann_socket.next("message:new"))["body"] == "Or 8?"
        await asyncio.sleep(1.0)
        assert len(pushstub.received(ann_dev)) == 2
        inbox = (await http.get("/api/v1/notifications", headers=ann.headers)).json()
        assert [i["title"] for i in inbox["items"]] == ["New message from Ben", "It's a match!"]
        assert pushstub.received(ben_dev) == []
        assert ben_socket.queue("notification:new").empty()
