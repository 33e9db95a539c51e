"""Socket.IO contract against a live server with python-socketio's client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio

from tests.conftest import BACKENDS
from tests.factories import profile
from tests.live import backend_env, live_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from live_server(tmp_path_factory, **backend_env(request.param, "rapport_live_socket"))


async def _user(base: str, **overrides: Any) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/v1/auth/register",
            json={"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "socket-password-1"},
        )
        assert r.status_code == 201, r.text
        token = r.json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        assert (
            await http.patch("/api/v1/me", json=profile(**overrides), headers=h)
        ).status_code == 200
        return r.json()["user_id"], token


@pytest.fixture
async def pair(server: str) -> dict[str, Any]:
    a_id, a_tok = await _user(server)
    b_id, b_tok = await _user(
        server, gender="man", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    async with httpx.AsyncClient(base_url=server) as http:
        await http.post(f"/api/v1/users/{b_id}/like", headers={"Authorization": f"Bearer {a_tok}"})
        r = await http.post(
            f"/api/v1/users/{a_id}/like", headers={"Authorization": f"Bearer {b_tok}"}
        )
    return {"a": a_tok, "b": b_tok, "a_id": a_id, "conv": r.json()["match"]["conversation_id"]}


async def connect(base: str, token: str | None) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        base, auth={"token": token} if token else None, transports=["websocket"], wait_timeout=10
    )
    return client


async def test_send_ack_and_delivery(server: str, pair: dict[str, Any]) -> None:
    a = await connect(server, pair["a"])
    b = await connect(server, pair["b"])
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    b.on("message:new", received.put)
    try:
        payload = {"conversation_id": pair["conv"], "client_msg_id": "sock-0001", "body": "你好 hi"}
        ack = await a.call("message:send", payload, timeout=10)
        assert ack["ok"] is True
        message = ack["message"]
        assert message["seq"] == 1 and message["sender_id"] == pair["a_id"]
        delivered = await asyncio.wait_for(received.get(), 10)
        assert delivered == message
        retry = await a.call("message:send", payload, timeout=10)
        assert retry == ack
        synced = await b.call("sync", {"cursors": {}}, timeout=10)
        assert synced["ok"] is True
        assert [m["seq"] for m in synced["conversations"][0]["messages"]] == [1]
        assert (await b.call("sync", {"cursors": {pair["conv"]: 1}}, timeout=10))[
            "conversations"
        ] == []
    finally:
        await a.disconnect()
        await b.disconnect()


async def test_bad_payloads_get_error_acks_and_socket_survives(
    server: str, pair: dict[str, Any]
) -> None:
    a = await connect(server, pair["a"])
    try:
        for bad in (
            None,
            "text",
            {"conversation_id": "x"},
            {"conversation_id": pair["conv"], "client_msg_id": "sock-bad-1", "body": ""},
            {"conversation_id": str(uuid.uuid4()), "client_msg_id": "sock-bad-2", "body": "x"},
        ):
            ack = await a.call("message:send", bad, timeout=10)
            assert ack["ok"] is False
            assert ack["error"]["code"] in {"validation_error", "conversation_not_found"}
        ok = await a.call(
            "message:send",
            {"conversation_id": pair["conv"], "client_msg_id": "sock-good-1", "body": "still here"},
            timeout=10,
        )
        assert ok["ok"] is True
    finally:
        await a.disconnect()


async def test_a_nul_character_is_refused_as_bad_input_on_every_database(
    server: str, pair: dict[str, Any]
) -> None:
    """PostgreSQL's text cannot hold NUL: the send is a validation error (nothing stored, the
    socket and the send worker carry on), not a failed batch answered with ``unavailable``."""
    a = await connect(server, pair["a"])
    try:
        for body in ("\x00", "hi\x00there"):
            ack = await a.call(
                "message:send",
                {"conversation_id": pair["conv"], "client_msg_id": "sock-nul-0001", "body": body},
                timeout=10,
            )
            assert ack == {
                "ok": False,
                "error": {"code": "validation_error", "message": "Invalid: body."},
            }
        ok = await a.call(
            "message:send",
            {"conversation_id": pair["conv"], "client_msg_id": "sock-nul-0001", "body": "clean"},
            timeout=10,
        )
        assert ok["ok"] is True and ok["message"]["body"] == "clean"
    finally:
        await a.disconnect()


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
async def test_handshake_refuses_bad_tokens(server: str, token: str | None) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(server, token)
