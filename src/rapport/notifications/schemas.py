"""Notification, preference and push-subscription payloads (REST and the socket event)."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rapport.notifications.vapid import b64url_decode

Kind = Literal["message", "match", "reminder", "system"]
KINDS: tuple[str, ...] = ("message", "match", "reminder", "system")
MAX_ENDPOINT = 2048


class NotificationOut(BaseModel):
    """One inbox entry; also the payload of the ``notification:new`` socket event."""

    id: uuid.UUID
    kind: Kind
    title: str
    body: str
    data: dict[str, Any] = Field(
        description="Kind-specific references, e.g. conversation_id, message_id, url"
    )
    created_at: datetime = Field(description="When it last changed (a collapsed entry moves up)")
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut] = Field(description="Newest first")
    unread_count: int


class MarkRead(BaseModel):
    """Either ``{ids: [...]}`` or ``{all: true}``; ids of other users are ignored."""

    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=500)
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> MarkRead:
        if (self.ids is None) == (not self.all):
            raise ValueError("send either ids (a non-empty list) or all: true")
        return self


class UnreadCount(BaseModel):
    unread_count: int


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(name: str) -> str:
    # Only names of the tz database: ZoneInfo alone also opens directories and odd files.
    if name not in _zones():
        raise ValueError("not an IANA time zone, e.g. Asia/Shanghai")
    return name


HHMM = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"], max_length=5)
]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["Asia/Shanghai"]),
    AfterValidator(_zone),
]


class QuietHours(BaseModel):
    """No push between ``start`` and ``end`` local time (the window may cross midnight)."""

    model_config = ConfigDict(extra="forbid")

    start: HHMM
    end: HHMM
    timezone: TimeZone

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class NotificationSettings(BaseModel):
    messages: bool = Field(description="New messages while you are away")
    matches: bool = Field(description="New matches")
    reminders: bool = Field(description="Reminders and follow-ups")
    quiet_hours: QuietHours | None = Field(description="Push stays silent inside this window")


class NotificationSettingsUpdate(BaseModel):
    """Only the fields sent change; ``quiet_hours: null`` turns quiet hours off."""

    model_config = ConfigDict(extra="forbid")

    messages: bool | None = None
    matches: bool | None = None
    reminders: bool | None = None
    quiet_hours: QuietHours | None = None


def _p256dh(value: str) -> str:
    raw = b64url_decode(value)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("p256dh must be a 65-byte uncompressed P-256 point")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # on the curve
    return value


def _auth(value: str) -> str:
    if len(b64url_decode(value)) != 16:
        raise ValueError("auth must be 16 bytes")
    return value


class PushKeys(BaseModel):
    p256dh: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_p256dh)]
    auth: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_auth)]


class PushSubscriptionIn(BaseModel):
    """The browser's ``PushSubscription.toJSON()``."""

    model_config = ConfigDict(populate_by_name=True)

    endpoint: str = Field(min_length=8, max_length=MAX_ENDPOINT)
    expiration_time: float | None = Field(
        default=None, alias="expirationTime", ge=0, le=2**53, description="Epoch milliseconds"
    )
    keys: PushKeys


class PushSubscriptionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    endpoint: str
    expiration_time: float | None = Field(alias="expirationTime")
    created_at: datetime


class PushUnsubscribe(BaseModel):
    endpoint: str = Field(min_length=1, max_length=MAX_ENDPOINT)


class VapidKey(BaseModel):
    public_key: str = Field(
        description="applicationServerKey: uncompressed P-256 point, URL-safe base64"
    )


SAFE_URL = re.compile(r"^/(?![/\\])[^\s]*$")
