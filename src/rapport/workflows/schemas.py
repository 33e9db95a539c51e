"""Payloads of the workflows admin API and the inbound automation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rapport.chat.schemas import MAX_BODY
from rapport.events.catalog import CATALOG
from rapport.kit.validation import NonBlank

Scope = Literal["messages:write", "notifications:write", "reminders:write", "ai:write"]
SCOPES: tuple[str, ...] = ("messages:write", "notifications:write", "reminders:write", "ai:write")


def _known_types(v: list[str]) -> list[str]:
    unknown = sorted(set(v) - set(CATALOG))
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)} (see docs/events.md)")
    return sorted(set(v))


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\- ]+$")
    url: str = Field(min_length=8, max_length=2000)
    event_types: list[str] = Field(default_factory=list, description="Empty = every type")
    secret: str | None = Field(
        default=None, description="Standard Webhooks secret (whsec_…); generated when omitted"
    )
    active: bool = True

    _types = field_validator("event_types")(_known_types)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    event_types: list[str] | None = None
    active: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _types(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _known_types(v)


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    rotating_until: datetime | None = Field(
        description="Until then deliveries carry the previous secret's signature too"
    )


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Shown once; store it in the receiver")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_s: int = Field(
        default=24 * 3600, ge=0, le=7 * 24 * 3600, description="Keep signing with the old secret"
    )


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryOut):
    body: dict[str, Any]
    log: list[AttemptOut]


class DeadLetterOut(BaseModel):
    id: uuid.UUID
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    reason: str
    died_at: datetime
    replayed_at: datetime | None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    scopes: list[Scope] = Field(min_length=1)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once: send it as 'Authorization: Bearer <key>'")


# -- inbound automation -----------------------------------------------------------------------


class AutomatedMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["system", "bot"] = "system"
    body: Annotated[str, Field(min_length=1, max_length=MAX_BODY), NonBlank]
    idempotency_key: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-:.]+$",
        description="Retries with the same key return the same message (e.g. the n8n execution id)",
    )


class NotificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["system", "reminder", "match", "message"] = "system"
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(default="", max_length=500)
    data: dict[str, str] = Field(default_factory=dict, max_length=20)
    collapse_key: str | None = Field(default=None, max_length=100)


class NotificationSent(BaseModel):
    delivered: bool = Field(description="False when the user's preferences turned this kind off")
    id: uuid.UUID | None


class ReminderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(default="", max_length=500)
    run_at: datetime | None = Field(default=None, description="When; or give delay_s")
    delay_s: int | None = Field(default=None, ge=0, le=366 * 24 * 3600)
    conversation_id: uuid.UUID | None = None
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")


class ReminderOut(BaseModel):
    id: uuid.UUID | None = Field(description="The job id (null when an earlier call made it)")
    scheduled: bool = Field(description="False when this idempotency key was used before")
    run_at: datetime


class AIResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["icebreaker", "suggestions", "analysis", "enhancement", "summary"]
    user_id: uuid.UUID | None = Field(
        default=None, description="The member it is for; null = both members"
    )
    payload: dict[str, Any]
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")


class AIResultOut(BaseModel):
    id: uuid.UUID
    created: bool
