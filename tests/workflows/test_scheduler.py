"""The durable scheduler on an injected clock: follow-ups, stall detection, retries, leases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rapport.events.models import OutboxEvent
from rapport.kit.clock import FrozenClock, set_clock
from rapport.kit.db import transaction
from rapport.runtime import Runtime
from rapport.workflows import tasks
from rapport.workflows.models import Job
from rapport.workflows.scheduler import Scheduler, schedule
from tests.factories import create_pair, match


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    previous = set_clock(clock)
    yield clock
    set_clock(previous)


@pytest.fixture
def installed(rt: Runtime) -> Runtime:
    tasks.install(rt)  # workers_in_process=False: no loops, the test drives run_due()
    return rt


async def jobs(rt: Runtime, kind: str) -> list[Job]:
    async with transaction(rt.sessionmaker) as session:
        return list(await session.scalars(select(Job).where(Job.kind == kind)))


async def inbox(client: httpx.AsyncClient, user: Any) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_silent_match_gets_one_follow_up_after_24_hours(
    installed: Runtime, client: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    rt = installed
    a, b = await create_pair(client)
    m = await match(client, a, b)
    [job] = await jobs(rt, "match.followup")  # committed with the match itself
    assert job.run_at == frozen.now() + timedelta(seconds=rt.settings.followup_after_s)
    assert job.dedupe_key == f"followup:{m['id']}"
    await rt.scheduler.run_due()
    assert all(n["kind"] != "reminder" for n in await inbox(client, a))
    frozen.advance(seconds=rt.settings.followup_after_s + 1)
    await rt.scheduler.run_due()
    for user, peer in ((a, "Ben"), (b, "Ann")):
        reminders = [n for n in await inbox(client, user) if n["kind"] == "reminder"]
        assert len(reminders) == 1
        assert peer in reminders[0]["title"]
        assert reminders[0]["data"]["conversation_id"] == m["conversation_id"]
    [job] = await jobs(rt, "match.followup")
    assert job.status == "done" and job.attempts == 1
    await rt.scheduler.run_due()  # nothing runs twice
    assert len([n for n in await inbox(client, a) if n["kind"] == "reminder"]) == 1


async def test_no_follow_up_once_someone_wrote(
    installed: Runtime, client: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    rt = installed
    a, b = await create_pair(client)
    m = await match(client, a, b)
    r = await client.post(
        f"/api/v1/conversations/{m['conversation_id']}/messages",
        json={"client_msg_id": "first-message-1", "body": "hi Ben!"},
        headers=a.headers,
    )
    assert r.status_code == 201
    frozen.advance(seconds=rt.settings.followup_after_s + 1)
    await rt.scheduler.run_due()
    assert [n for n in await inbox(client, b) if n["kind"] == "reminder"] == []
    [job] = await jobs(rt, "match.followup")
    assert job.status == "done"


async def test_stall_scan_raises_conversation_stalled_once_per_silence(
    installed: Runtime, client: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    rt = installed
    a, b = await create_pair(client)
    m = await match(client, a, b)
    r = await client.post(
        f"/api/v1/conversations/{m['conversation_id']}/messages",
        json={"client_msg_id": "stall-question-1", "body": "What do you do on weekends?"},
        headers=a.headers,
    )
    assert r.status_code == 201

    async def stalled() -> list[OutboxEvent]:
        async with transaction(rt.sessionmaker) as session:
            rows = await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "conversation.stalled")
            )
            return list(rows)

    await rt.scheduler.run_due()
    assert await stalled() == []
    frozen.advance(seconds=rt.settings.ai_stall_after_s + 60)
    await rt.scheduler.run_due()
    [event] = await stalled()
    data = event.body["data"]
    assert data["conversation_id"] == m["conversation_id"]
    assert data["last_sender_id"] == str(a.id)
    assert data["quiet_for_s"] >= rt.settings.ai_stall_after_s
    frozen.advance(seconds=rt.settings.ai_stall_check_s + 1)  # the next scan slot
    await rt.scheduler.run_due()
    assert len(await stalled()) == 1
    scans = await jobs(rt, "conversations.stall_scan")
    assert len(scans) >= 3 and all(j.status == "done" for j in scans)


async def test_a_failing_job_retries_with_backoff_then_fails(
    rt: Runtime, frozen: FrozenClock
) -> None:
    calls: list[dict[str, Any]] = []

    async def flaky(_rt: Runtime, payload: dict[str, Any]) -> None:
        calls.append(payload)
        raise RuntimeError("downstream unavailable")

    scheduler = Scheduler(rt)
    scheduler.handle("flaky", flaky)
    async with transaction(rt.sessionmaker) as session:
        assert await schedule(session, "flaky", frozen.now(), {"n": 1}, dedupe_key="flaky:1")
        assert not await schedule(session, "flaky", frozen.now(), {"n": 2}, dedupe_key="flaky:1")
    await scheduler.run_due()
    assert len(calls) == 1
    await scheduler.run_due()
    assert len(calls) == 1  # waiting out its backoff
    for _ in range(6):
        frozen.advance(hours=1)
        await scheduler.run_due()
    assert len(calls) == 5  # max_attempts
    [job] = await jobs(rt, "flaky")
    assert job.status == "failed" and "downstream unavailable" in (job.last_error or "")


async def test_a_job_whose_worker_died_runs_again_after_its_lease(
    rt: Runtime, frozen: FrozenClock
) -> None:
    from rapport.workflows import repository as repo
    from rapport.workflows.scheduler import LEASE

    ran: list[str] = []

    async def once(_rt: Runtime, payload: dict[str, Any]) -> None:
        ran.append(payload["id"])

    scheduler = Scheduler(rt)
    scheduler.handle("once", once)
    key = uuid.uuid4().hex
    async with transaction(rt.sessionmaker) as session:
        await schedule(session, "once", frozen.now(), {"id": key}, dedupe_key=key)
    async with transaction(rt.sessionmaker) as session:  # a worker claims it, then dies
        assert len(await repo.claim_jobs(session, frozen.now(), frozen.now() + LEASE, 10)) == 1
    await scheduler.run_due()
    assert ran == []
    frozen.advance(seconds=LEASE.total_seconds() + 1)
    await scheduler.run_due()
    assert ran == [key]
