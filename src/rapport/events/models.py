"""The transactional outbox: public events stored in the same transaction as their change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit import clock
from rapport.kit.db import Base

#: BIGINT identity on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
Position = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    """One public event waiting for (or done with) fan-out to webhook subscriptions."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "dispatched_at", "position"),)

    position: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(64))
    order_key: Mapped[str] = mapped_column(String(64))
    # Users the event concerns: fan-out skips it when any of them opted out of automation.
    subjects: Mapped[list[str]] = mapped_column(default=list)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    dispatched_at: Mapped[datetime | None]
