"""Moderation against a live server over Socket.IO: "Are you sure?" on message:send, a ban
closing sockets within 5 s, a block ending typing and presence at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import socketio

from tests.live import ROOT, LiveServer, make_server
from tests.realtime.conftest import EVENTS, FAST, Person, Socket, make_pair, make_person

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The default re-check interval (2 s), not the test suite's faster one.
    env = {**FAST, "RAPPORT_SOCKET_RECHECK_S": "2"}
    server = make_server(tmp_path_factory.mktemp("moderation-live"), **env).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sockets(live: LiveServer) -> AsyncIterator[list[Socket]]:
    opened: list[Socket] = []
    yield opened
    for sock in opened:
        if sock.client.connected:
            await sock.client.disconnect()


async def connect(live: LiveServer, opened: list[Socket], token: str) -> Socket:
    client = socketio.AsyncClient(reconnection=False)
    sock = Socket(client)
    for name in [*EVENTS, "moderation:notice"]:
        client.on(name, sock.queue(name).put)
    await client.connect(live.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    opened.append(sock)
    return sock


def message(conv: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"conversation_id": conv, "client_msg_id": uuid.uuid4().hex, "body": body, **extra}


async def admin_of(live: LiveServer) -> Person:
    async with httpx.AsyncClient(base_url=live.url) as http:
        email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
        r = await http.post(
            "/api/v1/auth/register", json={"email": email, "password": "admin-password-1"}
        )
        assert r.status_code == 201
    grant = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "admin", "grant", email, "--role", "admin"],
        cwd=ROOT,
        env=live.env,
        capture_output=True,
        check=False,
    )
    assert grant.returncode == 0, grant.stderr
    return Person(r.json()["user_id"], r.json()["access_token"])


async def next_matching(sock: Socket, name: str, want: dict[str, Any], within: float = 5) -> Any:
    deadline = time.monotonic() + within
    while True:
        event = await sock.next(name, timeout=max(0.01, deadline - time.monotonic()))
        if all(event.get(k) == v for k, v in want.items()):
            return event


async def test_are_you_sure_over_the_socket(live: LiveServer, sockets: list[Socket]) -> None:
    a, b, conv = await make_pair(live.url)
    sa, sb = await connect(live, sockets, a.token), await connect(live, sockets, b.token)
    first = message(conv, "you're so stupid")
    ack = await sa.call("message:send", first)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "confirm_required"
    assert ack["error"]["reasons"] == [
        {"category": "abuse", "label": "Insulting or harassing language"}
    ]
    assert ack["error"]["message"]
    await sb.none("message:new", 0.5)
    ack = await sa.call("message:send", {**first, "confirm": True})
    assert ack["ok"] is True
    delivered = await sb.next("message:new")
    assert delivered["id"] == ack["message"]["id"]
    warning = await sb.next("safety:warning")
    assert warning["message_id"] == ack["message"]["id"]
    assert warning["categories"] == ["abuse"] and warning["flags"] == ["harassment"]
    blocked = await sa.call("message:send", message(conv, "I will kill you"))
    assert blocked["error"]["code"] == "content_blocked"


async def test_a_ban_closes_every_socket_within_five_seconds(
    live: LiveServer, sockets: list[Socket]
) -> None:
    admin = await admin_of(live)
    user = await make_person(live.url)
    phone, laptop = (
        await connect(live, sockets, user.token),
        await connect(live, sockets, user.token),
    )
    async with httpx.AsyncClient(base_url=live.url) as http:
        started = time.monotonic()
        r = await http.post(
            f"/api/v1/admin/users/{user.id}/sanctions",
            headers=admin.headers,
            json={"level": "ban", "reason": "scam ring"},
        )
        assert r.status_code == 201, r.text
        while phone.client.connected or laptop.client.connected:
            assert time.monotonic() - started < 5, "sockets still open 5 s after the ban"
            await asyncio.sleep(0.05)
        assert (await http.get("/api/v1/me", headers=user.headers)).status_code == 401
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(live, sockets, user.token)


async def test_a_block_ends_typing_and_hides_presence_at_once(
    live: LiveServer, sockets: list[Socket]
) -> None:
    a, b, conv = await make_pair(live.url)
    sa, sb = await connect(live, sockets, a.token), await connect(live, sockets, b.token)
    assert (await sa.call("typing", {"conversation_id": conv, "active": True}))["ok"] is True
    await next_matching(sb, "typing", {"user_id": a.id, "active": True})
    async with httpx.AsyncClient(base_url=live.url) as http:
        r = await http.post(f"/api/v1/users/{a.id}/block", headers=b.headers)
        assert r.status_code == 200
    stopped = await next_matching(sb, "typing", {"user_id": a.id}, within=2)
    assert stopped == {"conversation_id": conv, "user_id": a.id, "active": False}
    await next_matching(sb, "presence:update", {"user_id": a.id, "online": False}, within=2)
    await next_matching(sa, "presence:update", {"user_id": b.id, "online": False}, within=2)
    # And no new typing can start: the conversation is closed for both.
    again = await sa.call("typing", {"conversation_id": conv, "active": True})
    assert again["ok"] is False and again["error"]["code"] == "conversation_not_found"


async def test_shadow_banned_sender_reaches_no_one_and_clients_skip_the_gap(
    live: LiveServer,
) -> None:
    from rapport.client import RapportClient, RapportClientError

    admin = await admin_of(live)
    a, b, conv = await make_pair(live.url)
    clients = []
    for person in (a, b):
        client = RapportClient(live.url, ack_timeout=2)
        client._take(
            {
                "access_token": person.token,
                "refresh_token": "x" * 20,
                "access_expires_at": "2999-01-01T00:00:00+00:00",
                "user_id": person.id,
            }
        )
        await client.connect()
        clients.append(client)
    ca, cb = clients
    try:
        async with httpx.AsyncClient(base_url=live.url) as http:
            r = await http.post(
                f"/api/v1/admin/users/{a.id}/sanctions",
                headers=admin.headers,
                json={"level": "shadow_ban", "reason": "spam ring"},
            )
            assert r.status_code == 201
        hidden = await ca.send(conv, "hello from a shadow")
        assert hidden["seq"] == 1  # a normal ack
        with pytest.raises(RapportClientError) as refused:
            await ca.send(conv, "you're so stupid", client_msg_id="sdk-nudge-1")
        assert refused.value.code == "confirm_required"
        shown = await cb.send(conv, "anyone there?")
        assert shown["seq"] == 2
        await cb.sync()  # what every (re)connect does
        assert [m["body"] for m in cb.history(conv)] == ["anyone there?"]
        assert cb.cursors[conv] == 2  # the withheld seq 1 does not keep a gap open
        assert [m["body"] for m in ca.history(conv)][:1] == ["hello from a shadow"]
    finally:
        for client in clients:
            await client.close()
