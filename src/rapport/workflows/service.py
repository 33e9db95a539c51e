"""Workflows business rules: subscriptions, the delivery log, dead letters, API keys, and the
actions the inbound automation API may take."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.ai import service as ai
from rapport.chat import service as chat
from rapport.chat.schemas import MessageOut
from rapport.config import Settings
from rapport.kit import clock
from rapport.kit.db import insert_ignore
from rapport.kit.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from rapport.kit.ids import new_id
from rapport.workflows import repository as repo
from rapport.workflows import signing, urls
from rapport.workflows.models import ApiKey, WebhookDelivery, WebhookSubscription
from rapport.workflows.scheduler import schedule
from rapport.workflows.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    ReminderIn,
    ReminderOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)

SETTINGS_SUBSCRIPTION = "settings"
KEY_PREFIX = "rk_"

# -- subscriptions ----------------------------------------------------------------------------


def subscription_out(sub: WebhookSubscription) -> SubscriptionOut:
    now = clock.now()
    rotating = (
        sub.previous_secret_until
        if sub.previous_secret_until and sub.previous_secret_until > now
        else None
    )
    return SubscriptionOut(
        id=sub.id,
        name=sub.name,
        url=sub.url,
        event_types=list(sub.event_types),
        active=sub.active,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
        rotating_until=rotating,
    )


async def _check_url(url: str, settings: Settings) -> None:
    try:
        await urls.check(url, settings.webhook_allowed_hosts)
    except urls.UrlRefused as exc:
        raise BadRequest(str(exc), code="webhook_url_refused") from exc


async def create_subscription(
    session: AsyncSession, data: SubscriptionIn, settings: Settings
) -> tuple[WebhookSubscription, str]:
    if data.name == SETTINGS_SUBSCRIPTION:
        raise Conflict("That name is reserved for RAPPORT_WEBHOOK_URL.", code="name_reserved")
    if await repo.subscription_by_name(session, data.name) is not None:
        raise Conflict("A subscription with this name exists.", code="name_taken")
    secret = data.secret or signing.new_secret()
    if not signing.is_valid_secret(secret):
        raise BadRequest(
            "A secret is 'whsec_' + base64 of 24 to 64 random bytes.", code="invalid_secret"
        )
    await _check_url(data.url, settings)
    sub = WebhookSubscription(
        name=data.name,
        url=data.url,
        event_types=data.event_types,
        secret=secret,
        active=data.active,
    )
    session.add(sub)
    await session.flush()
    return sub, secret


async def _editable(session: AsyncSession, sub_id: uuid.UUID) -> WebhookSubscription:
    sub = await repo.subscription(session, sub_id)
    if sub is None:
        raise NotFound("No such subscription.", code="subscription_not_found")
    if sub.name == SETTINGS_SUBSCRIPTION:
        raise Conflict(
            "This subscription comes from RAPPORT_WEBHOOK_*; change the settings instead.",
            code="managed_by_settings",
        )
    return sub


async def get_subscription(session: AsyncSession, sub_id: uuid.UUID) -> WebhookSubscription:
    sub = await repo.subscription(session, sub_id)
    if sub is None:
        raise NotFound("No such subscription.", code="subscription_not_found")
    return sub


async def update_subscription(
    session: AsyncSession, sub_id: uuid.UUID, patch: SubscriptionPatch, settings: Settings
) -> WebhookSubscription:
    sub = await _editable(session, sub_id)
    if patch.url is not None:
        await _check_url(patch.url, settings)
        sub.url = patch.url
    if patch.event_types is not None:
        sub.event_types = patch.event_types
    if patch.active is not None:
        sub.active = patch.active
    sub.updated_at = clock.now()
    return sub


async def delete_subscription(session: AsyncSession, sub_id: uuid.UUID) -> None:
    await session.delete(await _editable(session, sub_id))


async def rotate_secret(
    session: AsyncSession, sub_id: uuid.UUID, overlap_s: int
) -> tuple[WebhookSubscription, str]:
    """New secret now; the old one keeps signing alongside for ``overlap_s`` seconds."""
    sub = await _editable(session, sub_id)
    now = clock.now()
    sub.previous_secret = sub.secret if overlap_s else None
    sub.previous_secret_until = now + timedelta(seconds=overlap_s) if overlap_s else None
    sub.secret = signing.new_secret()
    sub.updated_at = now
    return sub, sub.secret


async def sync_settings_subscription(session: AsyncSession, settings: Settings) -> None:
    """Upsert the subscription named "settings" from RAPPORT_WEBHOOK_URL/SECRET/EVENTS."""
    sub = await repo.subscription_by_name(session, SETTINGS_SUBSCRIPTION)
    if not settings.webhook_url:
        if sub is not None and sub.active:
            sub.active = False
            sub.updated_at = clock.now()
        return
    secret = settings.webhook_secret.get_secret_value()
    events = sorted(set(settings.webhook_events))
    if sub is None:
        await insert_ignore(
            session,
            WebhookSubscription,
            {
                "id": new_id(),
                "name": SETTINGS_SUBSCRIPTION,
                "url": settings.webhook_url,
                "event_types": events,
                "secret": secret,
                "active": True,
                "created_at": clock.now(),
                "updated_at": clock.now(),
            },
            ["name"],
        )
        return
    if (sub.url, sub.secret, list(sub.event_types), sub.active) != (
        settings.webhook_url,
        secret,
        events,
        True,
    ):
        sub.url, sub.secret, sub.event_types, sub.active = (
            settings.webhook_url,
            secret,
            events,
            True,
        )
        sub.updated_at = clock.now()


# -- delivery log and dead letters ------------------------------------------------------------


def delivery_out(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut.model_validate(d, from_attributes=True)


async def delivery_detail(session: AsyncSession, delivery_id: uuid.UUID) -> DeliveryDetail:
    d = await repo.delivery(session, delivery_id)
    if d is None:
        raise NotFound("No such delivery.", code="delivery_not_found")
    log = [
        AttemptOut.model_validate(a, from_attributes=True)
        for a in await repo.attempts_of(session, d.id)
    ]
    return DeliveryDetail(**delivery_out(d).model_dump(), body=d.body, log=log)


async def replay(session: AsyncSession, dead_letter_id: uuid.UUID) -> WebhookDelivery:
    """Send a dead delivery again from attempt one (same webhook-id: receivers dedupe)."""
    dl = await repo.dead_letter(session, dead_letter_id)
    if dl is None:
        raise NotFound("No such dead letter.", code="dead_letter_not_found")
    if dl.replayed_at is not None:
        raise Conflict("This dead letter was replayed already.", code="already_replayed")
    now = clock.now()
    dl.replayed_at = now
    await repo.reset_dead_delivery(session, dl.delivery_id, now)
    d = await repo.delivery(session, dl.delivery_id)
    assert d is not None
    await session.refresh(d)
    return d


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> None:
    """Retention: finished deliveries, dispatched outbox rows and finished jobs."""
    await repo.purge(session, cutoff)


# -- API keys -----------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession, name: str, scopes: list[str], created_by: uuid.UUID | None
) -> tuple[ApiKey, str]:
    """A new key ``rk_<prefix>_<secret>``; only its SHA-256 is stored (it has 256 bits of
    entropy, so a slow hash adds nothing)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hash(key),
        scopes=sorted(set(scopes)),
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    return row, key


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    row = await repo.api_key(session, key_id)
    if row is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
    return row


async def authenticate_key(session: AsyncSession, key: str, scope: str) -> ApiKey:
    """The live key for ``key`` holding ``scope``; 401 for an unknown key, 403 for a scope."""
    parts = key.split("_")
    if len(parts) < 3 or not key.startswith(KEY_PREFIX):
        raise Unauthorized("Send an API key: 'Authorization: Bearer rk_…'.", code="invalid_api_key")
    row = await repo.api_key_by_prefix(session, parts[1])
    if row is None or not hmac.compare_digest(row.key_hash, _hash(key)) or row.revoked_at:
        raise Unauthorized("This API key is unknown or revoked.", code="invalid_api_key")
    if scope not in row.scopes:
        raise Forbidden(f"This API key lacks the {scope!r} scope.", code="scope_required")
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row


# -- automation actions -------------------------------------------------------------------------


async def post_message(
    session: AsyncSession, key: ApiKey, conversation_id: uuid.UUID, kind: str, body: str, idem: str
) -> tuple[MessageOut, bool]:
    # Keys are namespaced per API key, so two workflows cannot collide by accident.
    return await chat.send_automated(session, conversation_id, kind, body, f"{key.prefix}:{idem}")


async def schedule_reminder(session: AsyncSession, key: ApiKey, data: ReminderIn) -> ReminderOut:
    from rapport.accounts import service as accounts

    if await accounts.get_user(session, data.user_id) is None:
        raise NotFound("No such user.", code="user_not_found")
    now = clock.now()
    if (data.run_at is None) == (data.delay_s is None):
        raise BadRequest("Give exactly one of run_at and delay_s.", code="invalid_schedule")
    run_at = data.run_at if data.run_at is not None else now + timedelta(seconds=data.delay_s or 0)
    if run_at.tzinfo is None:
        raise BadRequest("run_at needs a time zone offset.", code="invalid_schedule")
    payload: dict[str, Any] = {
        "user_id": str(data.user_id),
        "title": data.title,
        "body": data.body,
        "data": {"conversation_id": str(data.conversation_id)} if data.conversation_id else {},
    }
    dedupe = f"reminder:{key.prefix}:{data.idempotency_key}"
    created = await schedule(session, "reminder", run_at, payload, dedupe_key=dedupe)
    job = await repo.job_by_dedupe(session, dedupe) if created else None
    return ReminderOut(id=job.id if job else None, scheduled=created, run_at=run_at)


async def attach_ai_result(
    session: AsyncSession,
    key: ApiKey,
    conversation_id: uuid.UUID,
    kind: str,
    user_id: uuid.UUID | None,
    payload: dict[str, Any],
    idem: str,
) -> tuple[uuid.UUID, bool]:
    return await ai.attach_result(
        session, conversation_id, kind, user_id, payload, f"{key.prefix}:{idem}"
    )
