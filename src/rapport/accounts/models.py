"""Tables owned by accounts: users, login sessions (refresh families) and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit import clock
from rapport.kit.db import Base
from rapport.kit.ids import new_id


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # member | moderator | admin; granted only with ``rapport admin grant`` or by an admin.
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    read_receipts: Mapped[bool] = mapped_column(default=True, server_default=true())
    show_presence: Mapped[bool] = mapped_column(default=True, server_default=true())
    ai_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    automation_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_active_at: Mapped[datetime] = mapped_column(default=clock.now)
    erased_at: Mapped[datetime | None]
    # Set when the person was verified (today by an admin); raises their trust limits.
    verified_at: Mapped[datetime | None]


class AuthSession(Base):
    """One login on one device: the family that its rotating refresh tokens belong to."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    """A refresh token, stored only as its SHA-256; ``used_at`` set once it was rotated."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
