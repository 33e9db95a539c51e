"""Black-box: real `rapport serve` processes, a real receiver, the CLI and a socket client.

- Events committed while no dispatcher ran, then the process SIGKILLed, are delivered after
  the restart, each once, with valid signatures.
- An API key made with `rapport apikey create` lets an automation post a system message
  that both members receive in real time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import socketio

from tests.live import ROOT, cluster_db_url, make_server
from tests.realtime.conftest import make_pair
from tests.workflows.receiver import Receiver

pytestmark = pytest.mark.slow


def env_for(receiver: Receiver, in_process: bool) -> dict[str, str]:
    return {
        "RAPPORT_WEBHOOK_URL": receiver.url,
        "RAPPORT_WEBHOOK_SECRET": receiver.secret,
        "RAPPORT_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
        "RAPPORT_WORKERS_IN_PROCESS": "true" if in_process else "false",
        "RAPPORT_DISPATCH_POLL_S": "0.2",
    }


def cli_api_key(env: dict[str, str], *scopes: str) -> str:
    """``rapport apikey create`` against a live server's database; returns the printed key."""
    args = [sys.executable, "-m", "rapport.cli", "apikey", "create", "n8n"]
    for scope in scopes:
        args += ["--scope", scope]
    made = subprocess.run(
        args,
        cwd=ROOT,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return next(line for line in made.stdout.splitlines() if line.startswith("rk_"))


async def wait_for(predicate: object, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_committed_events_survive_a_kill_before_dispatch(
    tmp_path: Path, backend: str
) -> None:
    database = {}
    if backend == "postgresql":
        database = {"RAPPORT_DATABASE_URL": cluster_db_url("rapport_workflows_kill_test")}
    receiver = Receiver(secret="whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").start()
    try:
        server = make_server(tmp_path, **env_for(receiver, in_process=False), **database).start()
        a, b, conversation = await make_pair(server.url)
        async with httpx.AsyncClient(base_url=server.url) as http:
            for i in range(5):
                r = await http.post(
                    f"/api/v1/conversations/{conversation}/messages",
                    json={"client_msg_id": f"kill-{i}-{uuid.uuid4().hex[:8]}", "body": f"m{i}"},
                    headers=a.headers,
                )
                assert r.status_code == 201, r.text
        await asyncio.sleep(0.5)
        assert receiver.events == []  # nothing dispatched: no worker ran
        server.kill()
        server.env.update(env_for(receiver, in_process=True))
        server.start()
        try:
            await wait_for(lambda: len(receiver.of_type("message.created")) == 5)
            await wait_for(lambda: len(receiver.of_type("match.created")) == 1)
            await wait_for(lambda: len(receiver.of_type("user.registered")) == 2)
            await asyncio.sleep(0.5)
        finally:
            server.stop()
    finally:
        receiver.stop()
    assert receiver.rejected == []
    messages = receiver.of_type("message.created")
    assert [m["data"]["body"] for m in messages] == [f"m{i}" for i in range(5)]
    assert len({e["id"] for e in receiver.events}) == len(receiver.events)
    assert {a.id, b.id} == {e["data"]["user_id"] for e in receiver.of_type("user.registered")}


async def test_an_automation_posts_a_system_message_both_members_see_live(
    tmp_path: Path,
) -> None:
    server = make_server(tmp_path).start()
    try:
        a, b, conversation = await make_pair(server.url)
        key = cli_api_key(server.env, "messages:write")
        sockets = []
        inboxes: list[asyncio.Queue[dict[str, object]]] = []
        for person in (a, b):
            client = socketio.AsyncClient(reconnection=False)
            queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
            client.on("message:new", queue.put)
            await client.connect(server.url, auth={"token": person.token}, transports=["websocket"])
            sockets.append(client)
            inboxes.append(queue)
        body = {"kind": "system", "body": "欢迎！你们都喜欢徒步 🥾", "idempotency_key": "exec-4711"}
        async with httpx.AsyncClient(base_url=server.url) as http:
            url = f"/api/v1/automation/conversations/{conversation}/messages"
            auth = {"Authorization": f"Bearer {key}"}
            first = await http.post(url, json=body, headers=auth)
            assert first.status_code == 201, first.text
            retry = await http.post(url, json=body, headers=auth)
            assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
            assert first.json()["seq"] == 1
            denied = await http.post(
                f"/api/v1/automation/users/{a.id}/notifications",
                json={"title": "x"},
                headers=auth,
            )
            assert denied.status_code == 403 and denied.json()["code"] == "scope_required"
            bogus = await http.post(url, json=body, headers={"Authorization": "Bearer rk_x_y"})
            assert bogus.status_code == 401
        for queue in inboxes:
            got = await asyncio.wait_for(queue.get(), 10)
            assert got["kind"] == "system" and got["sender_id"] is None
            assert got["body"] == body["body"] and got["id"] == first.json()["id"]
            assert queue.empty()
        for client in sockets:
            await client.disconnect()
    finally:
        server.stop()
