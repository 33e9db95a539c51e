"""Live-server fixtures for socket tests: users, matched pairs, connected clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import socketio

from tests.conftest import BACKENDS
from tests.factories import profile
from tests.live import backend_env, live_server

FAST = {
    "RAPPORT_PRESENCE_GRACE_S": "0.5",
    "RAPPORT_TYPING_TTL_S": "1",
    "RAPPORT_SOCKET_RECHECK_S": "1",
    "RAPPORT_SEND_BURST": "40",
    "RAPPORT_SEND_RATE_PER_S": "1",
}


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = backend_env(request.param, f"rapport_live_{request.module.__name__.rsplit('.', 1)[-1]}")
    yield from live_server(tmp_path_factory, **FAST, **env)


@dataclass
class Person:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_person(base: str, **overrides: Any) -> Person:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/v1/auth/register",
            json={"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "socket-password-1"},
        )
        assert r.status_code == 201, r.text
        person = Person(r.json()["user_id"], r.json()["access_token"])
        r = await http.patch("/api/v1/me", json=profile(**overrides), headers=person.headers)
        assert r.status_code == 200, r.text
        return person


async def make_pair(base: str) -> tuple[Person, Person, str]:
    a = await make_person(base)
    b = await make_person(
        base, gender="man", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    async with httpx.AsyncClient(base_url=base) as http:
        await http.post(f"/api/v1/users/{b.id}/like", headers=a.headers)
        r = await http.post(f"/api/v1/users/{a.id}/like", headers=b.headers)
    return a, b, r.json()["match"]["conversation_id"]


@dataclass
class Socket:
    """A python-socketio client that records every server event it receives."""

    client: socketio.AsyncClient
    events: dict[str, asyncio.Queue[Any]] = field(default_factory=dict)

    def queue(self, name: str) -> asyncio.Queue[Any]:
        return self.events.setdefault(name, asyncio.Queue())

    async def next(self, name: str, timeout: float = 5) -> Any:
        return await asyncio.wait_for(self.queue(name).get(), timeout)

    async def none(self, name: str, within: float) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(self.queue(name).get(), within)

    async def call(self, name: str, data: Any = None) -> Any:
        return await self.client.call(name, data, timeout=10)


EVENTS = [
    "message:new",
    "receipt:update",
    "typing",
    "presence:update",
    "match:new",
    "conversation:closed",
    "ai:icebreaker",
    "ai:suggestions",
    "safety:warning",
]


@pytest.fixture
async def connect(server: str) -> AsyncIterator[Callable[[str], Awaitable[Socket]]]:
    opened: list[Socket] = []

    async def _connect(token: str) -> Socket:
        client = socketio.AsyncClient(reconnection=False)
        sock = Socket(client)
        for name in EVENTS:
            client.on(name, sock.queue(name).put)
        await client.connect(
            server, auth={"token": token}, transports=["websocket"], wait_timeout=10
        )
        opened.append(sock)
        return sock

    yield _connect
    for sock in opened:
        if sock.client.connected:
            await sock.client.disconnect()
