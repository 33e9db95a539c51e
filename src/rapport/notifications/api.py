"""HTTP routes of notifications: the inbox, preferences, and Web Push subscriptions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from rapport.accounts.deps import CurrentUser
from rapport.kit.errors import NotFound
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.notifications import service
from rapport.notifications.push import keys_from
from rapport.notifications.schemas import (
    MarkRead,
    NotificationPage,
    NotificationSettings,
    NotificationSettingsUpdate,
    PushSubscriptionIn,
    PushSubscriptionOut,
    PushUnsubscribe,
    UnreadCount,
    VapidKey,
)

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], responses=STANDARD_PROBLEMS
)


@router.get("")
async def list_notifications(
    session: DbSession,
    me: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[
        uuid.UUID | None,
        Query(description="Id of the last notification you have: older ones follow"),
    ] = None,
) -> NotificationPage:
    """Your notifications, newest first, and how many are unread."""
    return await service.inbox(session, me.user_id, before=before, limit=limit)


@router.post("/read")
async def mark_read(body: MarkRead, session: DbSession, me: CurrentUser) -> UnreadCount:
    """Mark ``ids`` (yours; others are ignored) or ``all`` read; returns the unread count."""
    return await service.mark_read(session, me.user_id, body)


settings_router = APIRouter(
    prefix="/api/v1/me", tags=["notifications"], responses=STANDARD_PROBLEMS
)


@settings_router.get("/notification-settings")
async def get_settings(session: DbSession, me: CurrentUser) -> NotificationSettings:
    """What you are notified about, and your quiet hours (no push inside them)."""
    return await service.settings_of(session, me.user_id)


@settings_router.patch("/notification-settings")
async def patch_settings(
    body: NotificationSettingsUpdate, session: DbSession, me: CurrentUser
) -> NotificationSettings:
    """Change the switches sent; ``quiet_hours: null`` turns quiet hours off."""
    return await service.update_settings(session, me.user_id, body)


push_router = APIRouter(prefix="/api/v1/push", tags=["notifications"], responses=STANDARD_PROBLEMS)


@push_router.get("/vapid-key")
async def vapid_key(rt: RuntimeDep) -> VapidKey:
    """The applicationServerKey to subscribe with; 404 ``push_not_configured`` when off."""
    keys = keys_from(rt.settings)
    if keys is None:
        raise NotFound("Web Push is not configured on this server.", code="push_not_configured")
    return VapidKey(public_key=keys.public_key)


@push_router.post("/subscriptions", status_code=status.HTTP_201_CREATED)
async def subscribe(
    body: PushSubscriptionIn, session: DbSession, me: CurrentUser, rt: RuntimeDep
) -> PushSubscriptionOut:
    """Register this browser's ``PushSubscription.toJSON()`` (idempotent by endpoint)."""
    return await service.subscribe(session, me.user_id, body, rt.settings.push_allowed_http_hosts)


@push_router.delete("/subscriptions", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(body: PushUnsubscribe, session: DbSession, me: CurrentUser) -> Response:
    """Forget this browser's subscription (after ``PushSubscription.unsubscribe()``)."""
    await service.unsubscribe(session, me.user_id, body.endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
