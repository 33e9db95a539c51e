"""Tables owned by matching: swipes (like / pass) and matches."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit import clock
from rapport.kit.db import Base
from rapport.kit.ids import new_id


class Swipe(Base):
    __tablename__ = "swipes"

    swiper_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    action: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Match(Base):
    """A mutual like. ``user_low`` < ``user_high`` so one pair has one row."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("user_low", "user_high"),
        CheckConstraint("user_low < user_high", name="ordered_pair"),
        Index("ix_matches_user_high", "user_high"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_low: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_high: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[uuid.UUID | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))

    def peer_of(self, user_id: uuid.UUID) -> uuid.UUID:
        return self.user_high if user_id == self.user_low else self.user_low
