"""Two live nodes on one PostgreSQL and Redis: an admin's word-list edit on one node applies on
the other within its reload interval, and a ban made on one node closes the user's sockets on
the other within 5 s (the socket re-check)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio

from tests.conftest import REDIS_URL
from tests.live import LiveServer, cluster_db_url, make_server
from tests.moderation.test_live import admin_of
from tests.realtime.conftest import FAST, make_pair

pytestmark = pytest.mark.slow
CLUSTER_DB = "rapport_moderation_cluster_test"


def _cluster_db_url() -> str:
    return cluster_db_url(CLUSTER_DB)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {
        **FAST,
        "RAPPORT_SOCKET_RECHECK_S": "2",
        "RAPPORT_MODERATION_RELOAD_S": "1",
        "RAPPORT_DATABASE_URL": _cluster_db_url(),
        "RAPPORT_REDIS_URL": REDIS_URL,
    }
    base: Path = tmp_path_factory.mktemp("moderation-cluster")
    servers: list[LiveServer] = []
    try:
        for name in ("node1", "node2"):
            servers.append(make_server(base / name, **env).start())
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


async def test_list_edit_and_ban_cross_nodes(nodes: tuple[LiveServer, LiveServer]) -> None:
    node1, node2 = nodes
    admin = await admin_of(node1)
    a, b, conv = await make_pair(node1.url)

    async def send_on_node2(body: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=node2.url) as http:
            return await http.post(
                f"/api/v1/conversations/{conv}/messages",
                headers=a.headers,
                json={"client_msg_id": uuid.uuid4().hex, "body": body},
            )

    assert (await send_on_node2("you zorbulon")).status_code == 201
    async with httpx.AsyncClient(base_url=node1.url) as http:
        r = await http.post(
            "/api/v1/admin/moderation/terms",
            headers=admin.headers,
            json={"category": "abuse", "term": "zorbulon"},
        )
        assert r.status_code == 200, r.text
    started = time.monotonic()
    while (await send_on_node2("you zorbulon")).status_code != 409:
        assert time.monotonic() - started < 6, "node2 did not reload the lists"
        await asyncio.sleep(0.2)

    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        node2.url, auth={"token": a.token}, transports=["websocket"], wait_timeout=10
    )
    try:
        async with httpx.AsyncClient(base_url=node1.url) as http:
            started = time.monotonic()
            r = await http.post(
                f"/api/v1/admin/users/{a.id}/sanctions",
                headers=admin.headers,
                json={"level": "ban", "reason": "cluster test"},
            )
            assert r.status_code == 201, r.text
        while client.connected:
            assert time.monotonic() - started < 5, "socket on node2 open 5 s after the ban"
            await asyncio.sleep(0.05)
    finally:
        if client.connected:
            await client.disconnect()
