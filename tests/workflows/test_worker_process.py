"""`rapport worker` as its own process next to an API node that runs no workers: it delivers
webhooks, runs scheduled reminders, and reaches the API node's sockets through Redis."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import socketio

from tests.conftest import REDIS_URL
from tests.live import ROOT, make_server
from tests.realtime.conftest import make_pair
from tests.workflows.receiver import Receiver
from tests.workflows.test_live import cli_api_key, env_for, wait_for

pytestmark = pytest.mark.slow


async def test_a_separate_worker_delivers_webhooks_and_runs_reminders(tmp_path: Path) -> None:
    if not REDIS_URL:
        pytest.skip("RAPPORT_TEST_REDIS_URL is not set: the worker reaches sockets via Redis")
    receiver = Receiver(secret="whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").start()
    server = make_server(
        tmp_path, **env_for(receiver, in_process=False), RAPPORT_REDIS_URL=REDIS_URL
    ).start()
    worker_env = {
        **server.env,
        "RAPPORT_WORKERS_IN_PROCESS": "true",
        "RAPPORT_SCHEDULER_POLL_S": "0.2",
    }
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "worker"],
            cwd=ROOT,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = socketio.AsyncClient(reconnection=False)
    try:
        a, _b, conversation = await make_pair(server.url)
        await wait_for(lambda: len(receiver.of_type("match.created")) == 1, timeout=30)
        key = cli_api_key(server.env)
        notes: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        client.on("notification:new", notes.put)
        await client.connect(server.url, auth={"token": a.token}, transports=["websocket"])
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post(
                "/api/v1/automation/reminders",
                json={
                    "user_id": a.id,
                    "title": "Time to reply?",
                    "delay_s": 0,
                    "conversation_id": conversation,
                    "idempotency_key": "worker-test-1",
                },
                headers={"Authorization": f"Bearer {key}"},
            )
            assert r.status_code == 201 and r.json()["scheduled"] is True, r.text
        note = await asyncio.wait_for(notes.get(), 30)
        assert note["kind"] == "reminder" and note["title"] == "Time to reply?"
    finally:
        if client.connected:
            await client.disconnect()
        worker.terminate()
        worker.wait(timeout=20)
        server.stop()
        receiver.stop()
    assert receiver.rejected == []
