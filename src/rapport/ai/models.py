"""Tables owned by the AI layer: what it produced, for whom, by which provider."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit import clock
from rapport.kit.db import Base
from rapport.kit.ids import new_id


class AIResult(Base):
    __tablename__ = "ai_results"
    __table_args__ = (
        Index("ix_ai_results_lookup", "conversation_id", "kind", "user_id"),
        Index("ix_ai_results_message", "message_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(24))  # icebreaker | suggestions | analysis | ...
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(24))
    # Set for results that must exist once only (a nudge for a given point of a conversation),
    # so several nodes scanning at once cannot send it twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
