from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update

from rapport.accounts.service import set_role
from rapport.config import Settings
from rapport.events.models import OutboxEvent
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.runtime import Runtime
from rapport.workflows.signing import new_secret
from tests.conftest import make_settings
from tests.factories import TestUser, register
from tests.workflows.receiver import Receiver


@pytest.fixture
def settings() -> Settings:
    return make_settings(
        webhook_allowed_hosts=["127.0.0.1"],
        webhook_backoff_s=1.0,
        webhook_max_attempts=4,
        workers_in_process=False,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(secret=new_secret()).start()
    yield r
    r.stop()


async def forget_leftovers(rt: Runtime) -> None:
    """Tests elsewhere that commit for real (e.g. matching concurrency) leave outbox rows
    behind; inside this test's rolled-back transaction, count them as dispatched already."""
    async with transaction(rt.sessionmaker) as session:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .values(dispatched_at=clock.now())
        )


async def make_admin(client: httpx.AsyncClient, rt: Runtime) -> TestUser:
    """An admin account; also the start of every webhook test, so leftovers go first."""
    await forget_leftovers(rt)
    admin = await register(client)
    async with transaction(rt.sessionmaker) as session:
        assert await set_role(session, admin.email, "admin")
    return admin


async def subscribe(
    client: httpx.AsyncClient, admin: TestUser, receiver: Receiver, types: list[str] | None = None
) -> dict[str, object]:
    r = await client.post(
        "/api/v1/admin/webhooks",
        json={
            "name": f"n8n-{receiver.port}",
            "url": receiver.url,
            "event_types": types or [],
            "secret": receiver.secret,
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body
