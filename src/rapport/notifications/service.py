"""Notifications: the inbox, preferences, Web Push subscriptions, and :func:`notify`.

``notify`` writes the inbox row in the caller's transaction and emits ``notification.created``;
after commit the socket relay sends ``notification:new`` and the push sender (tasks.py) pushes
to the user's devices when they have no live socket and are outside their quiet hours.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.errors import Unprocessable
from rapport.kit.ids import new_id
from rapport.notifications import repository as repo
from rapport.notifications.models import Notification, NotificationPreference, PushSubscription
from rapport.notifications.push import Result, Target, endpoint_problem, host_of, topic_for
from rapport.notifications.schemas import (
    KINDS,
    SAFE_URL,
    MarkRead,
    NotificationOut,
    NotificationPage,
    NotificationSettings,
    NotificationSettingsUpdate,
    PushSubscriptionIn,
    PushSubscriptionOut,
    QuietHours,
    UnreadCount,
)

log = structlog.get_logger(__name__)

INBOX_MAX = 200  # entries kept per user; older ones are dropped as new ones arrive
MAX_SUBSCRIPTIONS = 10  # devices per user; the oldest subscription makes room
MAX_FAILURES = 10  # consecutive failed pushes (not 404/410) before a subscription is dropped
TITLE_MAX = 200
BODY_MAX = 1000
SWITCH = {"message": "messages", "match": "matches", "reminder": "reminders"}


async def notify(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any] | None = None,
    *,
    collapse_key: str | None = None,
    push: bool = True,
    actor_id: uuid.UUID | None = None,
) -> Notification | None:
    """Tell a user something: an inbox row in this transaction, ``notification:new`` after
    commit, and a Web Push when they are away and outside quiet hours. Returns None (and
    stores nothing) when the user turned this kind off or the account is not active. With
    ``collapse_key`` the unread entry with that key is updated instead of adding another.
    ``actor_id`` names who caused it, so that person's erasure removes it."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    user = await accounts.get_user(session, user_id)
    if user is None or user.status != "active":
        return None
    prefs = await repo.preferences(session, user_id)
    if not wants(prefs, kind):
        return None
    now = clock.now()
    values = {
        "kind": kind,
        "title": _clip(title, TITLE_MAX),
        "body": _clip(body, BODY_MAX),
        "data": _with_url(_jsonable(data or {})),
        "actor_id": actor_id,
    }
    note = await _store(session, user_id, collapse_key, values, now)
    emit(
        session,
        "notification.created",
        {
            "notification": to_out(note).model_dump(mode="json"),
            "recipients": [str(user_id)],
            "push": push and not in_quiet_hours(prefs, now),
            "topic": topic_for(collapse_key),
        },
    )
    return note


async def _store(
    session: AsyncSession,
    user_id: uuid.UUID,
    collapse_key: str | None,
    values: dict[str, Any],
    now: datetime,
) -> Notification:
    if collapse_key is not None:
        existing = await repo.open_by_key(session, user_id, collapse_key)
        if existing is not None:
            return await _collapse(session, existing, values, now)
    note = Notification(
        id=new_id(),
        user_id=user_id,
        collapse_key=collapse_key,
        open_key=collapse_key,
        created_at=now,
        count=1,
        **values,
    )
    try:
        async with session.begin_nested():
            session.add(note)
            await session.flush()
    except IntegrityError:
        # Another transaction opened the same key first: collapse into its entry.
        existing = await repo.open_by_key(session, user_id, collapse_key) if collapse_key else None
        if existing is None:
            raise
        return await _collapse(session, existing, values, now)
    await repo.prune(session, user_id, INBOX_MAX)
    return note


async def _collapse(
    session: AsyncSession, note: Notification, values: dict[str, Any], now: datetime
) -> Notification:
    for field, value in values.items():
        setattr(note, field, value)
    note.count += 1
    note.created_at = now
    await session.flush()
    return note


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """The data as plain JSON (UUIDs and datetimes become strings)."""
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def _with_url(data: dict[str, Any]) -> dict[str, Any]:
    """Where a click leads: a same-origin path from the data, else the conversation, else /."""
    url = data.get("url")
    if not (isinstance(url, str) and len(url) <= 512 and SAFE_URL.match(url)):
        conversation = data.get("conversation_id")
        url = f"/chat/{conversation}" if conversation else "/"
    return {**data, "url": url}


def to_out(note: Notification) -> NotificationOut:
    return NotificationOut.model_validate(note, from_attributes=True)


def wants(prefs: NotificationPreference | None, kind: str) -> bool:
    """Whether the user accepts notifications of ``kind`` (system ones always)."""
    switch = SWITCH.get(kind)
    return prefs is None or switch is None or bool(getattr(prefs, switch))


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(prefs: NotificationPreference | None, at: datetime) -> bool:
    """Whether ``at`` falls in the user's quiet hours (start inclusive, end exclusive)."""
    if prefs is None or not (prefs.quiet_start and prefs.quiet_end and prefs.quiet_timezone):
        return False
    local = at.astimezone(ZoneInfo(prefs.quiet_timezone)).time().replace(tzinfo=None)
    start, end = _hhmm(prefs.quiet_start), _hhmm(prefs.quiet_end)
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window crosses midnight


# -- inbox ------------------------------------------------------------------------------------


async def inbox(
    session: AsyncSession, user_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
) -> NotificationPage:
    """The user's notifications, newest first; ``before`` is the id of the last one seen."""
    cursor = None
    if before is not None:
        cursor = await repo.owned(session, user_id, before)
        if cursor is None:
            raise Unprocessable("before is not one of your notifications.", code="bad_cursor")
    rows = await repo.page(session, user_id, cursor, limit)
    return NotificationPage(
        items=[to_out(n) for n in rows], unread_count=await repo.unread_count(session, user_id)
    )


async def mark_read(session: AsyncSession, user_id: uuid.UUID, body: MarkRead) -> UnreadCount:
    """Mark some (or all) of the user's own notifications read; other ids are ignored."""
    await repo.mark_read(session, user_id, None if body.all else body.ids, clock.now())
    return UnreadCount(unread_count=await repo.unread_count(session, user_id))


# -- preferences ------------------------------------------------------------------------------


def _settings(prefs: NotificationPreference | None) -> NotificationSettings:
    if prefs is None:
        return NotificationSettings(messages=True, matches=True, reminders=True, quiet_hours=None)
    quiet = None
    if prefs.quiet_start and prefs.quiet_end and prefs.quiet_timezone:
        quiet = QuietHours(
            start=prefs.quiet_start, end=prefs.quiet_end, timezone=prefs.quiet_timezone
        )
    return NotificationSettings(
        messages=prefs.messages,
        matches=prefs.matches,
        reminders=prefs.reminders,
        quiet_hours=quiet,
    )


async def settings_of(session: AsyncSession, user_id: uuid.UUID) -> NotificationSettings:
    """The user's notification switches and quiet hours (everything on by default)."""
    return _settings(await repo.preferences(session, user_id))


async def update_settings(
    session: AsyncSession, user_id: uuid.UUID, patch: NotificationSettingsUpdate
) -> NotificationSettings:
    """Change the fields sent; ``quiet_hours: null`` turns quiet hours off."""
    prefs = await _preferences_row(session, user_id)
    for field in ("messages", "matches", "reminders"):
        value = getattr(patch, field)
        if value is not None:
            setattr(prefs, field, value)
    if "quiet_hours" in patch.model_fields_set:
        quiet = patch.quiet_hours
        prefs.quiet_start = quiet.start if quiet else None
        prefs.quiet_end = quiet.end if quiet else None
        prefs.quiet_timezone = quiet.timezone if quiet else None
    prefs.updated_at = clock.now()
    await session.flush()
    return _settings(prefs)


async def _preferences_row(session: AsyncSession, user_id: uuid.UUID) -> NotificationPreference:
    prefs = await repo.preferences(session, user_id)
    if prefs is not None:
        return prefs
    prefs = NotificationPreference(user_id=user_id, messages=True, matches=True, reminders=True)
    try:
        async with session.begin_nested():
            session.add(prefs)
            await session.flush()
    except IntegrityError:  # a concurrent first change created it
        existing = await repo.preferences(session, user_id)
        if existing is None:
            raise
        return existing
    return prefs


# -- push subscriptions -----------------------------------------------------------------------


async def subscribe(
    session: AsyncSession,
    user_id: uuid.UUID,
    sub: PushSubscriptionIn,
    allowed_http_hosts: list[str],
) -> PushSubscriptionOut:
    """Store (or refresh) a browser's subscription; an endpoint another user held moves here."""
    problem = endpoint_problem(sub.endpoint, allowed_http_hosts)
    if problem is not None:
        raise Unprocessable(f"The push endpoint {problem}.", code="push_endpoint_rejected")
    expires = (
        datetime.fromtimestamp(sub.expiration_time / 1000, UTC)
        if sub.expiration_time is not None
        else None
    )
    if expires is not None and expires <= clock.now():
        raise Unprocessable("The subscription has expired.", code="push_subscription_expired")
    row = await repo.subscription_by_endpoint(session, sub.endpoint)
    if row is None:
        row = PushSubscription(
            id=new_id(), user_id=user_id, endpoint=sub.endpoint, created_at=clock.now()
        )
        try:
            async with session.begin_nested():
                _refresh(row, user_id, sub, expires)
                session.add(row)
                await session.flush()
        except IntegrityError:  # the same endpoint arrived concurrently
            existing = await repo.subscription_by_endpoint(session, sub.endpoint)
            if existing is None:
                raise
            row = existing
    if row.user_id != user_id:
        log.info("push_subscription_moved", host=host_of(sub.endpoint))
    _refresh(row, user_id, sub, expires)
    await session.flush()
    await _cap_subscriptions(session, user_id, keep=row.id)
    return PushSubscriptionOut(
        endpoint=row.endpoint, expiration_time=sub.expiration_time, created_at=row.created_at
    )


def _refresh(
    row: PushSubscription, user_id: uuid.UUID, sub: PushSubscriptionIn, expires: datetime | None
) -> None:
    row.user_id = user_id
    row.p256dh = sub.keys.p256dh
    row.auth = sub.keys.auth
    row.expires_at = expires
    row.failures = 0


async def _cap_subscriptions(session: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID) -> None:
    subs = await repo.subscriptions_of(session, user_id)
    extra = len(subs) - MAX_SUBSCRIPTIONS
    if extra > 0:
        await repo.delete_subscriptions(session, [s.id for s in subs if s.id != keep][:extra])


async def unsubscribe(session: AsyncSession, user_id: uuid.UUID, endpoint: str) -> None:
    """Forget the caller's subscription with this endpoint (nothing happens to others')."""
    await repo.delete_subscription(session, user_id, endpoint)


async def push_targets(session: AsyncSession, user_id: uuid.UUID) -> list[Target]:
    """The user's live subscriptions (expired ones are dropped here)."""
    now = clock.now()
    subs = await repo.subscriptions_of(session, user_id)
    expired = {s.id for s in subs if s.expires_at is not None and s.expires_at <= now}
    await repo.delete_subscriptions(session, expired)
    return [
        Target(id=s.id, endpoint=s.endpoint, p256dh=s.p256dh, auth=s.auth)
        for s in subs
        if s.id not in expired
    ]


async def record_push_results(session: AsyncSession, results: list[Result]) -> None:
    """Drop subscriptions the push service disowned (404/410) or that keep failing."""
    gone = {r.target.id for r in results if r.outcome == "gone"}
    rows = {
        s.id: s for s in await repo.subscriptions_by_ids(session, [r.target.id for r in results])
    }
    now = clock.now()
    for result in results:
        row = rows.get(result.target.id)
        if row is None or result.outcome == "gone":
            continue
        if result.outcome == "sent":
            row.failures = 0
            row.last_success_at = now
        else:
            row.failures += 1
            if row.failures >= MAX_FAILURES:
                gone.add(row.id)
    await session.flush()
    if gone:
        await repo.delete_subscriptions(session, gone)
        log.info("push_subscriptions_dropped", count=len(gone))


# -- privacy ----------------------------------------------------------------------------------


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """The user's inbox, push subscriptions (without their keys) and preferences."""
    return {
        "notifications": [
            to_out(n).model_dump(mode="json") for n in await repo.all_of(session, user_id)
        ],
        "push_subscriptions": [
            {
                "endpoint": s.endpoint,
                "created_at": s.created_at.isoformat(),
                "expires_at": s.expires_at.isoformat() if s.expires_at else None,
                "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
            }
            for s in await repo.subscriptions_of(session, user_id)
        ],
        "preferences": (await settings_of(session, user_id)).model_dump(mode="json"),
    }


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Delete the user's inbox, entries about them in others' inboxes, their push
    subscriptions and their preferences."""
    return {
        "notifications_deleted": await repo.delete_involving(session, user_id),
        "push_subscriptions_deleted": await repo.delete_subscriptions_of(session, user_id),
        "notification_preferences_deleted": await repo.delete_preferences(session, user_id),
    }
