"""HTTP routes of workflows: the admin API (webhooks, dead letters, API keys) and the inbound
automation API that n8n calls with an API key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rapport.accounts import service as accounts
from rapport.accounts.deps import AdminUser
from rapport.chat.schemas import MessageOut
from rapport.kit.errors import NotFound, Unauthorized
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.workflows import repository as repo
from rapport.workflows import service
from rapport.workflows.models import ApiKey
from rapport.workflows.schemas import (
    AIResultIn,
    AIResultOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    AutomatedMessageIn,
    DeadLetterOut,
    DeliveryDetail,
    DeliveryOut,
    NotificationIn,
    NotificationSent,
    ReminderIn,
    ReminderOut,
    RotateIn,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)

admin = APIRouter(prefix="/api/v1/admin", tags=["admin: workflows"], responses=STANDARD_PROBLEMS)
automation = APIRouter(
    prefix="/api/v1/automation", tags=["automation"], responses=STANDARD_PROBLEMS
)
key_bearer = HTTPBearer(auto_error=False, description="API key (rk_…) from `rapport apikey create`")

# -- admin: subscriptions -----------------------------------------------------------------------


@admin.get("/webhooks")
async def list_subscriptions(session: DbSession, _: AdminUser) -> list[SubscriptionOut]:
    """Every webhook subscription (secrets are never shown again after creation)."""
    return [service.subscription_out(s) for s in await repo.subscriptions(session)]


@admin.post("/webhooks", status_code=status.HTTP_201_CREATED)
async def create_subscription(
    body: SubscriptionIn, session: DbSession, rt: RuntimeDep, _: AdminUser
) -> SubscriptionCreated:
    """Subscribe a URL to event types; the signing secret is returned once."""
    sub, secret = await service.create_subscription(session, body, rt.settings)
    rt.outbox.wanted = None  # record everything until the dispatcher narrows it again
    return SubscriptionCreated(**service.subscription_out(sub).model_dump(), secret=secret)


@admin.get("/webhooks/{subscription_id}")
async def get_subscription(
    subscription_id: uuid.UUID, session: DbSession, _: AdminUser
) -> SubscriptionOut:
    return service.subscription_out(await service.get_subscription(session, subscription_id))


@admin.patch("/webhooks/{subscription_id}")
async def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionPatch,
    session: DbSession,
    rt: RuntimeDep,
    _: AdminUser,
) -> SubscriptionOut:
    """Change URL, event types or pause/resume (paused deliveries wait, nothing is lost)."""
    sub = await service.update_subscription(session, subscription_id, body, rt.settings)
    rt.outbox.wanted = None
    return service.subscription_out(sub)


@admin.delete("/webhooks/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription_id: uuid.UUID, session: DbSession, _: AdminUser
) -> Response:
    """Remove a subscription and its delivery log."""
    await service.delete_subscription(session, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin.post("/webhooks/{subscription_id}/rotate-secret")
async def rotate_secret(
    subscription_id: uuid.UUID, body: RotateIn, session: DbSession, _: AdminUser
) -> SubscriptionCreated:
    """A new secret now; the old one keeps signing alongside for ``overlap_s``."""
    sub, secret = await service.rotate_secret(session, subscription_id, body.overlap_s)
    return SubscriptionCreated(**service.subscription_out(sub).model_dump(), secret=secret)


# -- admin: delivery log and dead letters ---------------------------------------------------------


@admin.get("/webhook-deliveries")
async def list_deliveries(
    session: DbSession,
    _: AdminUser,
    subscription_id: uuid.UUID | None = None,
    delivery_status: Annotated[
        str | None, Query(alias="status", pattern="^(pending|delivered|dead)$")
    ] = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The delivery log, newest first (page with ``before`` = the last ``created_at``)."""
    rows = await repo.deliveries(session, subscription_id, delivery_status, before, limit)
    return [service.delivery_out(d) for d in rows]


@admin.get("/webhook-deliveries/{delivery_id}")
async def get_delivery(delivery_id: uuid.UUID, session: DbSession, _: AdminUser) -> DeliveryDetail:
    """One delivery with its body and every attempt."""
    return await service.delivery_detail(session, delivery_id)


@admin.get("/webhook-dead-letters")
async def list_dead_letters(
    session: DbSession,
    _: AdminUser,
    subscription_id: uuid.UUID | None = None,
    include_replayed: bool = False,
) -> list[DeadLetterOut]:
    rows = await repo.dead_letters(session, subscription_id, include_replayed)
    return [DeadLetterOut.model_validate(r, from_attributes=True) for r in rows]


@admin.post("/webhook-dead-letters/{dead_letter_id}/replay")
async def replay_dead_letter(
    dead_letter_id: uuid.UUID, session: DbSession, _: AdminUser
) -> DeliveryOut:
    """Deliver a dead letter again, from attempt one, with the same ``webhook-id``."""
    return service.delivery_out(await service.replay(session, dead_letter_id))


# -- admin: API keys ------------------------------------------------------------------------------


@admin.get("/api-keys")
async def list_api_keys(session: DbSession, _: AdminUser) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k, from_attributes=True) for k in await repo.api_keys(session)]


@admin.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyIn, session: DbSession, me: AdminUser) -> ApiKeyCreated:
    """A key for the automation API with the given scopes; the key is returned once."""
    row, key = await service.create_api_key(session, body.name, list(body.scopes), me.user_id)
    return ApiKeyCreated(
        **ApiKeyOut.model_validate(row, from_attributes=True).model_dump(), key=key
    )


@admin.delete("/api-keys/{key_id}")
async def revoke_api_key(key_id: uuid.UUID, session: DbSession, _: AdminUser) -> ApiKeyOut:
    """Revoke a key at once (it stays listed, marked revoked)."""
    return ApiKeyOut.model_validate(
        await service.revoke_api_key(session, key_id), from_attributes=True
    )


# -- inbound automation ---------------------------------------------------------------------------


def _key(scope: str) -> Any:
    async def dep(
        session: DbSession,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(key_bearer)],
    ) -> ApiKey:
        if creds is None or creds.scheme.lower() != "bearer":
            raise Unauthorized(
                "Send an API key: 'Authorization: Bearer rk_…'.", code="invalid_api_key"
            )
        return await service.authenticate_key(session, creds.credentials, scope)

    return Depends(dep)


MessagesKey = Annotated[ApiKey, _key("messages:write")]
NotificationsKey = Annotated[ApiKey, _key("notifications:write")]
RemindersKey = Annotated[ApiKey, _key("reminders:write")]
AIKey = Annotated[ApiKey, _key("ai:write")]


@automation.post("/conversations/{conversation_id}/messages")
async def post_message(
    conversation_id: uuid.UUID,
    body: AutomatedMessageIn,
    session: DbSession,
    key: MessagesKey,
    response: Response,
) -> MessageOut:
    """Post a system or bot message into a live conversation; both members get it in real
    time as ``message:new`` (``sender_id`` null, ``kind`` system/bot). 201 when stored, 200
    when this ``idempotency_key`` was used before (same message returned)."""
    message, created = await service.post_message(
        session, key, conversation_id, body.kind, body.body, body.idempotency_key
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return message


@automation.post("/users/{user_id}/notifications", status_code=status.HTTP_201_CREATED)
async def push_notification(
    user_id: uuid.UUID, body: NotificationIn, session: DbSession, _: NotificationsKey
) -> NotificationSent:
    """Notify a user: inbox entry, ``notification:new`` on live sockets, Web Push when
    offline (the user's notification preferences and quiet hours apply)."""
    from rapport.notifications.service import notify

    if await accounts.get_user(session, user_id) is None:
        raise NotFound("No such user.", code="user_not_found")
    note = await notify(
        session,
        user_id,
        body.kind,
        body.title,
        body.body,
        dict(body.data),
        collapse_key=body.collapse_key,
    )
    return NotificationSent(delivered=note is not None, id=note.id if note is not None else None)


@automation.post("/reminders", status_code=status.HTTP_201_CREATED)
async def schedule_reminder(body: ReminderIn, session: DbSession, key: RemindersKey) -> ReminderOut:
    """Schedule a reminder notification for a user (durable; idempotent per key)."""
    return await service.schedule_reminder(session, key, body)


@automation.post("/conversations/{conversation_id}/ai-results", status_code=status.HTTP_201_CREATED)
async def attach_ai_result(
    conversation_id: uuid.UUID, body: AIResultIn, session: DbSession, key: AIKey
) -> AIResultOut:
    """Attach a result an external AI workflow computed; members who use the assistant get
    it as ``ai:result``."""
    result_id, created = await service.attach_ai_result(
        session, key, conversation_id, body.kind, body.user_id, body.payload, body.idempotency_key
    )
    return AIResultOut(id=result_id, created=created)
