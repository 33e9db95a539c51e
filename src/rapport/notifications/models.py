"""Tables owned by notifications: the inbox, Web Push subscriptions and per-user preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit import clock
from rapport.kit.db import Base
from rapport.kit.ids import new_id


class Notification(Base):
    """One inbox entry. ``open_key`` equals ``collapse_key`` while unread and is cleared when
    read, so at most one unread entry per key exists (NULLs never collide in a unique key)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_inbox", "user_id", "created_at", "id"),
        UniqueConstraint("user_id", "open_key", name="uq_notifications_open_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # message | match | reminder | system
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    collapse_key: Mapped[str | None] = mapped_column(String(120))
    open_key: Mapped[str | None] = mapped_column(String(120))
    # How many events this entry stands for (collapsed ones add up while it stays unread).
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Who caused it (a sender, a new match); their erasure removes it from everyone's inbox.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None]


class PushSubscription(Base):
    """A browser's ``PushSubscription``; the endpoint is unique and belongs to one user."""

    __tablename__ = "push_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_success_at: Mapped[datetime | None]
    # Consecutive failed deliveries other than 404/410; the subscription goes at a limit.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NotificationPreference(Base):
    """What a user wants to be told about, and when push must stay silent."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    messages: Mapped[bool] = mapped_column(default=True, server_default=true())
    matches: Mapped[bool] = mapped_column(default=True, server_default=true())
    reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    quiet_timezone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
