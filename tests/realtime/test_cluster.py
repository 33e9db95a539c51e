"""Two server processes sharing PostgreSQL and Redis deliver between users connected to
different nodes (python-socketio AsyncRedisManager), and revocation crosses nodes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.live import LiveServer, cluster_db_url, make_server
from tests.realtime.conftest import FAST, Socket, make_pair

pytestmark = pytest.mark.slow
CLUSTER_DB = "rapport_cluster_test"


def _cluster_db_url() -> str:
    return cluster_db_url(CLUSTER_DB)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    env = {**FAST, "RAPPORT_DATABASE_URL": _cluster_db_url(), "RAPPORT_REDIS_URL": REDIS_URL}
    base: Path = tmp_path_factory.mktemp("cluster")
    servers: list[LiveServer] = []
    try:
        # One after the other: the first applies migrations, the second finds them done.
        for name in ("node1", "node2"):
            servers.append(make_server(base / name, **env).start())
        yield servers[0].url, servers[1].url
    finally:
        for server in servers:
            server.stop()


async def _connect(url: str, token: str) -> Socket:
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    sock = Socket(client)
    for name in ("message:new", "receipt:update", "presence:update"):
        client.on(name, sock.queue(name).put)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return sock


async def test_delivery_receipts_and_presence_cross_nodes(nodes: tuple[str, str]) -> None:
    node1, node2 = nodes
    a, b, conv = await make_pair(node1)
    sb = await _connect(node2, b.token)
    sa = await _connect(node1, a.token)
    try:
        assert (await sb.next("presence:update"))["user_id"] == a.id
        ack = await sa.call(
            "message:send",
            {"conversation_id": conv, "client_msg_id": uuid.uuid4().hex, "body": "跨节点"},
        )
        assert ack["ok"] is True
        assert await sb.next("message:new") == ack["message"]
        assert await sa.next("message:new") == ack["message"]  # the sender's own room too
        await sb.call("receipt:read", {"conversation_id": conv, "up_to_seq": 1})
        assert (await sa.next("receipt:update"))["read_seq"] == 1
    finally:
        await sa.client.disconnect()
        await sb.client.disconnect()


async def test_logout_on_one_node_disconnects_socket_on_the_other(nodes: tuple[str, str]) -> None:
    node1, node2 = nodes
    a, _, _ = await make_pair(node1)
    sock = await _connect(node1, a.token)
    async with httpx.AsyncClient(base_url=node2) as http:
        assert (await http.post("/api/v1/auth/logout", headers=a.headers)).status_code == 200
    deadline = time.monotonic() + 5
    while sock.client.connected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not sock.client.connected
