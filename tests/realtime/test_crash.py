"""SIGKILL the server while a client is sending, restart it: every acknowledged message is
stored and reaches the recipient after resync; lost = 0, duplicated = 0."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from rapport.client import RapportClient
from tests.conftest import BACKENDS
from tests.live import LiveServer, backend_env, make_server
from tests.realtime.conftest import FAST, make_pair

pytestmark = pytest.mark.slow
TOTAL = 150
KILL_AFTER = 50


@pytest.fixture(params=BACKENDS)
def crashable(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {**FAST, "RAPPORT_SEND_RATE_PER_S": "1000", "RAPPORT_SEND_BURST": "1000"}
    env.update(backend_env(request.param, "rapport_live_crash"))
    server = make_server(tmp_path_factory.mktemp("crash"), **env).start()
    try:
        yield server
    finally:
        server.stop()


def client_for(url: str, user_id: str, token: str) -> RapportClient:
    client = RapportClient(url, ack_timeout=2, max_attempts=40)
    client._take(
        {
            "access_token": token,
            "refresh_token": "x" * 20,
            "access_expires_at": "2999-01-01T00:00:00+00:00",
            "user_id": user_id,
        }
    )
    return client


async def test_sigkill_loses_nothing_acked(crashable: LiveServer) -> None:
    a, b, conv = await make_pair(crashable.url)
    sender = client_for(crashable.url, a.id, a.token)
    await sender.connect()
    acked: list[dict[str, object]] = []
    killed = asyncio.Event()

    async def produce() -> None:
        for i in range(TOTAL):
            acked.append(await sender.send(conv, f"message {i}", client_msg_id=f"crash-{i:05d}"))
            if len(acked) == KILL_AFTER:
                killed.set()

    producer = asyncio.create_task(produce())
    await asyncio.wait_for(killed.wait(), 60)
    crashable.kill()  # SIGKILL: no shutdown hooks, in-flight sends lost mid-air
    await asyncio.sleep(0.5)
    await asyncio.to_thread(crashable.start)
    await asyncio.wait_for(producer, 180)
    await sender.close()

    receiver = client_for(crashable.url, b.id, b.token)
    await receiver.connect()
    await receiver.sync()
    held = receiver.history(conv)
    await receiver.close()
    acked_ids = {m["id"] for m in acked}
    held_ids = [m["id"] for m in held]
    lost = acked_ids - set(held_ids)
    duplicated = len(held_ids) - len(set(held_ids))
    assert (len(lost), duplicated) == (0, 0)
    assert [m["seq"] for m in held] == list(range(1, TOTAL + 1))
    assert [m["client_msg_id"] for m in held] == [f"crash-{i:05d}" for i in range(TOTAL)]
