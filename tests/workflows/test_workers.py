"""Several dispatchers on one database (separate connections, real commits): every event is
delivered exactly once to a healthy receiver, and per-conversation order holds."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from rapport.events.models import OutboxEvent
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.db import make_sessionmaker, transaction
from rapport.workflows.dispatcher import Dispatcher
from rapport.workflows.models import WebhookSubscription
from tests.conftest import make_settings
from tests.workflows.receiver import Receiver


async def test_three_workers_deliver_each_event_once_in_order(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    settings = make_settings(webhook_allowed_hosts=["127.0.0.1"], webhook_concurrency=4)
    factory = make_sessionmaker(engine)
    conversations = [str(uuid.uuid4()) for _ in range(4)]
    sub_name = f"workers-{uuid.uuid4().hex[:8]}"
    event_ids: list[uuid.UUID] = []
    async with transaction(factory) as session:
        # Other tests that commit for real leave undispatched rows: not this test's business.
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .values(dispatched_at=clock.now())
        )
        session.add(
            WebhookSubscription(
                name=sub_name,
                url=receiver.url,
                event_types=["message.read"],
                secret=receiver.secret,
            )
        )
    for seq in range(1, 16):
        async with transaction(factory) as session:
            for conv in conversations:
                event = emit(
                    session,
                    "message.read",
                    {"conversation_id": conv, "user_id": str(uuid.uuid4()), "read_seq": seq},
                )
                event_ids.append(event.id)
    workers = [Dispatcher(factory, settings) for _ in range(3)]

    async def work(d: Dispatcher) -> None:
        for _ in range(200):
            if len(receiver.events) >= len(event_ids):
                return
            if not await d.run_once():
                await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(asyncio.gather(*(work(d) for d in workers)), 60)
    finally:
        for d in workers:
            await d.aclose()
        async with transaction(factory) as session:
            await session.execute(
                delete(WebhookSubscription).where(WebhookSubscription.name == sub_name)
            )
            await session.execute(delete(OutboxEvent).where(OutboxEvent.event_id.in_(event_ids)))
    mine = [e for e in receiver.events if e["id"] in {str(i) for i in event_ids}]
    assert len(mine) == len(event_ids) == 60
    assert len(receiver.raw) == len(receiver.events)  # no event was POSTed twice
    assert receiver.rejected == []
    for conv in conversations:
        seqs = [e["data"]["read_seq"] for e in mine if e["data"]["conversation_id"] == conv]
        assert seqs == list(range(1, 16))
