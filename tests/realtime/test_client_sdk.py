"""The Python SDK against a live server: delivery, dedupe, gap detection, retry after a lost ack."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from rapport.client import Message, RapportClient
from tests.realtime.conftest import make_pair

pytestmark = pytest.mark.slow


async def signed_in(server: str) -> AsyncIterator[tuple[RapportClient, RapportClient, str]]:
    a, b, conv = await make_pair(server)
    clients = []
    for person in (a, b):
        client = RapportClient(server, ack_timeout=2)
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
    try:
        yield clients[0], clients[1], conv
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
async def trio(server: str) -> AsyncIterator[tuple[RapportClient, RapportClient, str]]:
    async for value in signed_in(server):
        yield value


async def wait_until(predicate: object, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_delivery_and_dedupe(trio: tuple[RapportClient, RapportClient, str]) -> None:
    a, b, conv = trio
    seen: list[Message] = []
    b.on_message(seen.append)
    sent = [await a.send(conv, f"hello {i}") for i in range(3)]
    await wait_until(lambda: len(b.history(conv)) == 3)
    assert [m["id"] for m in b.history(conv)] == [m["id"] for m in sent]
    await b.sync()  # the same messages again change nothing
    assert len(seen) == 3 and b.cursors[conv] == 3


async def test_gap_triggers_resync(trio: tuple[RapportClient, RapportClient, str]) -> None:
    a, b, conv = trio
    for i in range(5):
        await a.send(conv, f"m{i}")
    await wait_until(lambda: b.cursors.get(conv) == 5)
    # Pretend messages 3 and 4 never arrived.
    for seq in (3, 4):
        b._seen.discard(b.messages[conv].pop(seq)["id"])
    b.cursors[conv] = 2
    await a.send(conv, "m5")
    await wait_until(lambda: [m["seq"] for m in b.history(conv)] == [1, 2, 3, 4, 5, 6])
    assert b.cursors[conv] == 6


async def test_retry_after_lost_ack_stores_once(
    trio: tuple[RapportClient, RapportClient, str],
) -> None:
    a, _, conv = trio
    cid = uuid.uuid4().hex
    payload = {"conversation_id": conv, "client_msg_id": cid, "body": "once"}
    await a.sio.emit("message:send", payload)  # the ack of this one is never read
    message = await a.send(conv, "once", client_msg_id=cid)
    page = await a.request("GET", f"/api/v1/conversations/{conv}/messages")
    assert [m["client_msg_id"] for m in page["messages"]].count(cid) == 1
    assert page["messages"][-1]["id"] == message["id"]


async def test_reconnect_resyncs_missed_messages(
    trio: tuple[RapportClient, RapportClient, str],
) -> None:
    a, b, conv = trio
    await b.sio.eio.ws.close()  # the connection drops under the client: it reconnects itself
    await wait_until(lambda: not b._connected.is_set())
    for i in range(4):
        await a.send(conv, f"while away {i}")
    await wait_until(lambda: len(b.history(conv)) == 4, timeout=15)
    assert [m["seq"] for m in b.history(conv)] == [1, 2, 3, 4]
