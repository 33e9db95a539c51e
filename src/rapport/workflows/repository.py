"""Every query of the workflows domain (outbox fan-out, deliveries, keys, jobs)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from rapport.events.models import OutboxEvent
from rapport.kit.db import is_postgres
from rapport.workflows.models import (
    ApiKey,
    Job,
    WebhookAttempt,
    WebhookDeadLetter,
    WebhookDelivery,
    WebhookSubscription,
)

FANOUT_LOCK = 0x5241_0005  # pg advisory lock: one fan-out at a time keeps per-key order


# -- subscriptions --------------------------------------------------------------------------


async def active_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    rows = await session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    )
    return list(rows)


async def subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    rows = await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.name))
    return list(rows)


async def subscription(session: AsyncSession, sub_id: uuid.UUID) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, sub_id)


async def subscription_by_name(session: AsyncSession, name: str) -> WebhookSubscription | None:
    return await session.scalar(select(WebhookSubscription).where(WebhookSubscription.name == name))


# -- outbox fan-out -------------------------------------------------------------------------


async def take_fanout_lock(session: AsyncSession) -> bool:
    """PostgreSQL: only one worker fans out at a time (others skip this round)."""
    if not is_postgres(session):
        return True  # SQLite writes are serialised already
    got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FANOUT_LOCK})
    return bool(got)


async def undispatched(session: AsyncSession, limit: int) -> list[OutboxEvent]:
    stmt = (
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.position)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return list(await session.scalars(stmt))


async def oldest_undispatched_age(session: AsyncSession, now: datetime) -> float:
    oldest = await session.scalar(
        select(func.min(OutboxEvent.created_at)).where(OutboxEvent.dispatched_at.is_(None))
    )
    return (now - oldest).total_seconds() if oldest else 0.0


# -- deliveries -----------------------------------------------------------------------------


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[WebhookDelivery]:
    """Due pending deliveries that are first in line for their (subscription, order key):
    no earlier pending delivery of the same key exists, so one key is delivered in order.
    Claimed rows get a lease; a crashed worker's lease simply runs out."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.subscription_id == WebhookDelivery.subscription_id,
        earlier.order_key == WebhookDelivery.order_key,
        earlier.position < WebhookDelivery.position,
        earlier.status == "pending",
    )
    stmt = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
            WebhookDelivery.subscription_id.in_(
                select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True))
            ),
            ~blocked,
        )
        .order_by(WebhookDelivery.position)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(await session.scalars(stmt))
    for row in rows:
        row.leased_until = lease_until
    return rows


async def delivery(session: AsyncSession, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID | None,
    status: str | None,
    before: datetime | None,
    limit: int,
) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if subscription_id is not None:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if before is not None:
        stmt = stmt.where(WebhookDelivery.created_at < before)
    return list(await session.scalars(stmt))


async def attempts_of(session: AsyncSession, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt)
    )
    return list(rows)


async def dead_letters(
    session: AsyncSession, subscription_id: uuid.UUID | None, include_replayed: bool
) -> list[WebhookDeadLetter]:
    stmt = select(WebhookDeadLetter).order_by(WebhookDeadLetter.died_at.desc()).limit(500)
    if subscription_id is not None:
        stmt = stmt.where(WebhookDeadLetter.subscription_id == subscription_id)
    if not include_replayed:
        stmt = stmt.where(WebhookDeadLetter.replayed_at.is_(None))
    return list(await session.scalars(stmt))


async def dead_letter(session: AsyncSession, dl_id: uuid.UUID) -> WebhookDeadLetter | None:
    return await session.get(WebhookDeadLetter, dl_id)


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    )
    return {status: count for status, count in rows.tuples()}


# -- API keys -------------------------------------------------------------------------------


async def api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


async def api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))


async def api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


# -- jobs -----------------------------------------------------------------------------------


async def claim_jobs(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[Job]:
    stmt = (
        select(Job)
        .where(
            Job.status == "pending",
            Job.run_at <= now,
            or_(Job.leased_until.is_(None), Job.leased_until < now),
        )
        .order_by(Job.run_at)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(await session.scalars(stmt))
    for row in rows:
        row.leased_until = lease_until
        row.attempts += 1
    return rows


async def job(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id)


async def reset_dead_delivery(session: AsyncSession, delivery_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(and_(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "dead"))
        .values(status="pending", attempts=0, next_attempt_at=now, leased_until=None)
    )


async def job_by_dedupe(session: AsyncSession, key: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.dedupe_key == key))


async def purge(session: AsyncSession, cutoff: datetime) -> None:
    await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status == "delivered", WebhookDelivery.delivered_at < cutoff
        )
    )
    await session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.dispatched_at.is_not(None), OutboxEvent.dispatched_at < cutoff
        )
    )
    await session.execute(
        delete(Job).where(Job.status.in_(("done", "cancelled")), Job.finished_at < cutoff)
    )
