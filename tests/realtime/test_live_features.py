"""Receipts, typing, presence, revocation, limits and conversation changes, end to end."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.realtime.conftest import Socket, make_pair, make_person

pytestmark = pytest.mark.slow
Connect = Callable[[str], Awaitable[Socket]]


def send(conv: str, body: str, cid: str | None = None) -> dict[str, str]:
    return {"conversation_id": conv, "client_msg_id": cid or uuid.uuid4().hex, "body": body}


async def test_receipts_move_forward_only(server: str, connect: Connect) -> None:
    a, b, conv = await make_pair(server)
    sa, sb = await connect(a.token), await connect(b.token)
    for i in range(3):
        assert (await sa.call("message:send", send(conv, f"m{i}")))["ok"]
    ack = await sb.call("receipt:delivered", {"conversation_id": conv, "up_to_seq": 3})
    assert ack["receipt"] == {
        "conversation_id": conv,
        "user_id": b.id,
        "delivered_seq": 3,
        "read_seq": 0,
    }
    assert (await sa.next("receipt:update"))["delivered_seq"] == 3
    await sb.call("receipt:read", {"conversation_id": conv, "up_to_seq": 2})
    update = await sa.next("receipt:update")
    assert (update["delivered_seq"], update["read_seq"]) == (3, 2)
    back = await sb.call("receipt:read", {"conversation_id": conv, "up_to_seq": 1})
    assert back["receipt"]["read_seq"] == 2
    await sa.none("receipt:update", 0.5)
    clamped = await sb.call("receipt:read", {"conversation_id": conv, "up_to_seq": 999})
    assert clamped["receipt"]["read_seq"] == 3


async def test_read_receipts_off_is_symmetric(server: str, connect: Connect) -> None:
    a, b, conv = await make_pair(server)
    async with httpx.AsyncClient(base_url=server) as http:
        r = await http.patch(
            "/api/v1/me/settings", json={"read_receipts": False}, headers=b.headers
        )
        assert r.json() == {
            "read_receipts": False,
            "show_presence": True,
            "ai_enabled": True,
            "automation_enabled": True,
        }
    sa, sb = await connect(a.token), await connect(b.token)
    await sa.call("message:send", send(conv, "hi"))
    await sb.call("receipt:read", {"conversation_id": conv, "up_to_seq": 1})
    update = await sa.next("receipt:update")
    assert update["read_seq"] is None and update["delivered_seq"] == 1
    async with httpx.AsyncClient(base_url=server) as http:
        listed = (await http.get("/api/v1/conversations", headers=a.headers)).json()
    assert listed[0]["peer_read_seq"] is None and listed[0]["peer_delivered_seq"] == 1


async def test_typing_relays_and_expires(server: str, connect: Connect) -> None:
    a, b, conv = await make_pair(server)
    sa, sb = await connect(a.token), await connect(b.token)
    assert (await sa.call("typing", {"conversation_id": conv, "active": True}))["ok"]
    assert await sb.next("typing") == {"conversation_id": conv, "user_id": a.id, "active": True}
    started = time.monotonic()
    assert (await sb.next("typing"))["active"] is False
    assert 0.8 < time.monotonic() - started < 3
    await sa.call("typing", {"conversation_id": conv, "active": True})
    await sb.next("typing")
    await sa.call("message:send", send(conv, "done typing"))
    assert (await sb.next("typing"))["active"] is False
    outsider = await make_person(server)
    so = await connect(outsider.token)
    err = await so.call("typing", {"conversation_id": conv, "active": True})
    assert err["ok"] is False and err["error"]["code"] == "conversation_not_found"


async def test_presence_goes_to_matches_and_debounces(server: str, connect: Connect) -> None:
    a, b, _ = await make_pair(server)
    sb = await connect(b.token)
    sa = await connect(a.token)
    online = await sb.next("presence:update")
    assert online == {"user_id": a.id, "online": True, "last_seen_at": None}
    # A quick reconnect inside the grace period does not flap.
    await sa.client.disconnect()
    sa = await connect(a.token)
    await sb.none("presence:update", 1.0)
    await sa.client.disconnect()
    offline = await sb.next("presence:update")
    assert offline["online"] is False and offline["last_seen_at"]
    async with httpx.AsyncClient(base_url=server) as http:
        listed = (await http.get("/api/v1/conversations", headers=b.headers)).json()
        assert listed[0]["peer_online"] is False and listed[0]["peer_last_seen_at"]
        await http.patch("/api/v1/me/settings", json={"show_presence": False}, headers=a.headers)
        hidden = (await http.get("/api/v1/conversations", headers=b.headers)).json()
        assert hidden[0]["peer_online"] is None
    await connect(a.token)
    await sb.none("presence:update", 1.0)


async def test_logout_disconnects_within_five_seconds(server: str, connect: Connect) -> None:
    a = await make_person(server)
    sock = await connect(a.token)
    assert sock.client.connected
    async with httpx.AsyncClient(base_url=server) as http:
        await http.post("/api/v1/auth/logout", headers=a.headers)
    deadline = time.monotonic() + 5
    while sock.client.connected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not sock.client.connected


async def test_send_rate_is_limited_per_user(server: str, connect: Connect) -> None:
    a, _, conv = await make_pair(server)
    sa = await connect(a.token)
    acks = [await sa.call("message:send", send(conv, f"m{i}")) for i in range(60)]
    limited = [x for x in acks if not x["ok"]]
    assert limited, "a burst beyond the bucket must be refused"
    assert limited[0]["error"]["code"] == "rate_limited"
    assert limited[0]["error"]["retry_after_s"] >= 1
    # Refused sends were not stored: seqs of the accepted ones have no holes.
    seqs = [x["message"]["seq"] for x in acks if x["ok"]]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_match_and_unmatch_reach_sockets_and_sync(server: str, connect: Connect) -> None:
    a = await make_person(server)
    b = await make_person(
        server, gender="man", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    sa = await connect(a.token)
    async with httpx.AsyncClient(base_url=server) as http:
        await http.post(f"/api/v1/users/{b.id}/like", headers=a.headers)
        m = (await http.post(f"/api/v1/users/{a.id}/like", headers=b.headers)).json()["match"]
        new = await sa.next("match:new")
        assert new == {"match_id": m["id"], "conversation_id": m["conversation_id"]}
        synced = await sa.call("sync", {"cursors": {}})
        assert [c["conversation_id"] for c in synced["conversations"]] == [m["conversation_id"]]
        await http.delete(f"/api/v1/matches/{m['id']}", headers=b.headers)
    closed = await sa.next("conversation:closed")
    assert closed["conversation_id"] == m["conversation_id"] and closed["reason"] == "unmatched"
    after = await sa.call("sync", {"cursors": {m["conversation_id"]: 0}})
    assert after["closed"] == [m["conversation_id"]] and after["conversations"] == []


async def test_ai_help_and_safety_warning_over_the_socket(server: str, connect: Connect) -> None:
    a = await make_person(server)
    b = await make_person(
        server, gender="man", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    sa, sb = await connect(a.token), await connect(b.token)
    async with httpx.AsyncClient(base_url=server) as http:
        await http.post(f"/api/v1/users/{b.id}/like", headers=a.headers)
        r = await http.post(f"/api/v1/users/{a.id}/like", headers=b.headers)
    conv = r.json()["match"]["conversation_id"]
    icebreaker = await sa.next("ai:icebreaker", timeout=15)
    assert icebreaker["conversation_id"] == conv
    assert icebreaker["icebreaker"]["shared_interests"]  # the pair shares hiking, jazz, hotpot
    await sb.call("message:send", send(conv, "Hey! What are you up to this weekend?"))
    ack = await sa.call("ai:help", {"conversation_id": conv})
    assert ack["ok"] is True
    assert [r["tone"] for r in ack["suggestions"]["replies"]] == ["warm", "playful", "curious"]
    assert ack["suggestions"]["language"] == "en"
    assert await sa.next("ai:suggestions") == ack["suggestions"]
    await sa.call("message:send", send(conv, "加我微信 xxx，带你投资赚钱"))
    warning = await sb.next("safety:warning", timeout=15)
    assert {"scam", "off_platform_contact"} <= set(warning["flags"])
    assert warning["prompt"] == "does_this_bother_you"
    await sa.none("safety:warning", 0.5)  # never to the sender
