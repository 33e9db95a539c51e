"""Origin allowlist and frame-size limit on the Socket.IO endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import socketio

from tests.live import live_server
from tests.realtime.conftest import make_pair

pytestmark = pytest.mark.slow
ALLOWED = "https://app.rapport.test"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from live_server(tmp_path_factory, RAPPORT_CORS_ORIGINS=json.dumps([ALLOWED]))


async def _connect(url: str, token: str, origin: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(
            url,
            auth={"token": token},
            headers={"Origin": origin},
            transports=["websocket"],
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        await _release(client)
        raise
    return client


async def _release(client: socketio.AsyncClient) -> None:
    """A connection the server refused or closed leaves the client's HTTP session open."""
    if client.connected:
        await client.disconnect()
    if client.eio.http is not None and not client.eio.http.closed:
        await client.eio.http.close()


async def test_foreign_origin_is_refused(guarded: str) -> None:
    a, _, _ = await make_pair(guarded)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _connect(guarded, a.token, "https://evil.example")
    ok = await _connect(guarded, a.token, ALLOWED)
    assert ok.connected
    await ok.disconnect()


async def test_oversized_frame_closes_only_that_socket(guarded: str) -> None:
    a, _, conv = await make_pair(guarded)
    big = await _connect(guarded, a.token, ALLOWED)
    await big.emit(
        "message:send",
        {"conversation_id": conv, "client_msg_id": "too-big-01", "body": "x" * (70 * 1024)},
    )
    for _ in range(50):
        if not big.connected:
            break
        await asyncio.sleep(0.1)
    assert not big.connected
    await _release(big)
    fine = await _connect(guarded, a.token, ALLOWED)
    ack = await fine.call(
        "message:send",
        {"conversation_id": conv, "client_msg_id": "normal-01", "body": "still serving"},
        timeout=5,
    )
    assert ack["ok"] is True and ack["message"]["seq"] == 1
    await fine.disconnect()
