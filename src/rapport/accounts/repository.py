"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts.models import AuthSession, RefreshToken, User


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def session_by_id(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, session_id)


async def refresh_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def revoke_session(
    session: AsyncSession, session_id: uuid.UUID, at: datetime, reason: str
) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )


async def revoke_user_sessions(
    session: AsyncSession, user_id: uuid.UUID, at: datetime, reason: str
) -> list[uuid.UUID]:
    ids = list(
        await session.scalars(
            select(AuthSession.id).where(
                AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
    )
    if ids:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(ids))
            .values(revoked_at=at, revoked_reason=reason)
        )
    return ids


async def delete_user_tokens(session: AsyncSession, user_id: uuid.UUID) -> int:
    sessions = select(AuthSession.id).where(AuthSession.user_id == user_id).scalar_subquery()
    tokens = await session.execute(
        delete(RefreshToken).where(RefreshToken.session_id.in_(sessions))
    )
    result = await session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    return int(getattr(tokens, "rowcount", 0) or 0) + int(getattr(result, "rowcount", 0) or 0)


async def sessions_of(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    rows = await session.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id).order_by(AuthSession.created_at)
    )
    return list(rows)


async def activity_of(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, datetime]]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User.id, User.status, User.last_active_at).where(User.id.in_(user_ids))
    )
    return {uid: (status, seen) for uid, status, seen in rows}


async def users_by_ids(session: AsyncSession, user_ids: list[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    return list(await session.scalars(select(User).where(User.id.in_(user_ids))))


async def live_session_ids(
    session: AsyncSession, session_ids: list[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    if not session_ids:
        return set()
    rows = await session.scalars(
        select(AuthSession.id)
        .join(User, User.id == AuthSession.user_id)
        .where(
            AuthSession.id.in_(session_ids),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            User.status == "active",
        )
    )
    return set(rows)
