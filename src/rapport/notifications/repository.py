"""Every query of the notifications domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.notifications.models import Notification, NotificationPreference, PushSubscription

# -- inbox -----------------------------------------------------------------------------------


async def open_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> Notification | None:
    """The unread entry collapsing under ``key``, if any."""
    return await session.scalar(
        select(Notification).where(Notification.user_id == user_id, Notification.open_key == key)
    )


async def owned(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    return await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )


async def page(
    session: AsyncSession, user_id: uuid.UUID, before: Notification | None, limit: int
) -> list[Notification]:
    """Newest first; with ``before``, only entries strictly older than it (keyset)."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        stmt = stmt.where(
            tuple_(Notification.created_at, Notification.id) < (before.created_at, before.id)
        )
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID] | None, at: datetime
) -> int:
    """Mark the user's unread entries read (all of them when ``ids`` is None)."""
    stmt = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = await session.execute(
        stmt.values(read_at=at, open_key=None).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def prune(session: AsyncSession, user_id: uuid.UUID, keep: int) -> None:
    """Drop the user's entries beyond the newest ``keep``."""
    newest = (
        select(Notification.id)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(keep)
    )
    await session.execute(
        delete(Notification)
        .where(Notification.user_id == user_id, Notification.id.not_in(newest.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


async def delete_by_collapse_key(
    session: AsyncSession, user_ids: Collection[uuid.UUID], key: str
) -> int:
    result = await session.execute(
        delete(Notification)
        .where(Notification.user_id.in_(list(user_ids)), Notification.collapse_key == key)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def all_of(session: AsyncSession, user_id: uuid.UUID) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return list(rows)


async def delete_involving(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Entries the user received, and entries about them in anyone's inbox."""
    result = await session.execute(
        delete(Notification)
        .where(or_(Notification.user_id == user_id, Notification.actor_id == user_id))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- preferences -----------------------------------------------------------------------------


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> NotificationPreference | None:
    return await session.get(NotificationPreference, user_id)


async def delete_preferences(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        delete(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- push subscriptions ----------------------------------------------------------------------


async def subscription_by_endpoint(session: AsyncSession, endpoint: str) -> PushSubscription | None:
    return await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )


async def subscriptions_of(session: AsyncSession, user_id: uuid.UUID) -> list[PushSubscription]:
    rows = await session.scalars(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.created_at, PushSubscription.id)
    )
    return list(rows)


async def subscriptions_by_ids(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> list[PushSubscription]:
    if not ids:
        return []
    rows = await session.scalars(select(PushSubscription).where(PushSubscription.id.in_(ids)))
    return list(rows)


async def delete_subscriptions(session: AsyncSession, ids: Collection[uuid.UUID]) -> int:
    if not ids:
        return 0
    result = await session.execute(
        delete(PushSubscription)
        .where(PushSubscription.id.in_(list(ids)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_subscription(session: AsyncSession, user_id: uuid.UUID, endpoint: str) -> int:
    result = await session.execute(
        delete(PushSubscription)
        .where(PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_subscriptions_of(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        delete(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
