"""Every query of the chat domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat.models import Conversation, ConversationMember, Message


async def by_match(session: AsyncSession, match_id: uuid.UUID) -> Conversation | None:
    return await session.scalar(select(Conversation).where(Conversation.match_id == match_id))


async def by_matches(
    session: AsyncSession, match_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Conversation]:
    if not match_ids:
        return {}
    rows = await session.scalars(
        select(Conversation).where(Conversation.match_id.in_(list(match_ids)))
    )
    return {c.match_id: c for c in rows if c.match_id is not None}


async def members(session: AsyncSession, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation_id
        )
    )
    return list(rows)


async def messages_in(
    session: AsyncSession, conversation_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id.in_(list(ids)))
        .order_by(Message.seq)
    )
    return list(rows)


async def context_window(
    session: AsyncSession, conversation_id: uuid.UUID, lo: int, hi: int
) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq.between(lo, hi))
        .order_by(Message.seq)
    )
    return list(rows)


async def sent_by(session: AsyncSession, user_id: uuid.UUID) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.sender_id == user_id).order_by(Message.created_at)
    )
    return list(rows)


async def conversations_of(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(ConversationMember.conversation_id).where(ConversationMember.user_id == user_id)
    )
    return list(rows)


async def redact_sent(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(Message)
        .where(Message.sender_id == user_id)
        .values(body="", kind="deleted", redacted_at=at, client_msg_id=None, sender_id=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
