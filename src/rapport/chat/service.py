"""Chat: conversations and messages. (Real-time sending arrives with the messaging layer.)"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat import repository as repo
from rapport.chat.models import Conversation, ConversationMember, Message
from rapport.kit import clock
from rapport.kit.errors import Unprocessable

REPORT_CONTEXT = 5


async def open_for_match(
    session: AsyncSession, match_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> Conversation:
    """Create the 1:1 conversation of a new match (inside the caller's transaction)."""
    conv = Conversation(match_id=match_id, kind="direct")
    session.add(conv)
    await session.flush()
    session.add_all(ConversationMember(conversation_id=conv.id, user_id=u) for u in user_ids)
    await session.flush()
    return conv


async def close_for_match(session: AsyncSession, match_id: uuid.UUID, reason: str) -> None:
    """Close a match's conversation for both members: no more sends or reads of new messages."""
    conv = await repo.by_match(session, match_id)
    if conv is not None and conv.closed_at is None:
        conv.closed_at = clock.now()
        conv.close_reason = reason


async def conversations_for_matches(
    session: AsyncSession, match_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Conversation]:
    """Conversation of each match id."""
    return await repo.by_matches(session, match_ids)


def message_view(m: Message) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "conversation_id": str(m.conversation_id),
        "seq": m.seq,
        "sender_id": str(m.sender_id) if m.sender_id else None,
        "kind": m.kind,
        "body": m.body,
        "created_at": m.created_at.isoformat(),
    }


async def evidence_for_report(
    session: AsyncSession,
    reporter_id: uuid.UUID,
    reported_id: uuid.UUID,
    message_ids: Collection[uuid.UUID],
) -> list[dict[str, Any]]:
    """Snapshot reported messages plus surrounding context from the pair's conversation.

    Every id must be a message of a conversation both users belong to; otherwise nothing is
    revealed and the report is refused.
    """
    if not message_ids:
        return []
    for conv_id in await repo.conversations_of(session, reporter_id):
        if set(await repo.members(session, conv_id)) != {reporter_id, reported_id}:
            continue
        found = await repo.messages_in(session, conv_id, message_ids)
        if len(found) != len(set(message_ids)):
            break
        lo = max(1, found[0].seq - REPORT_CONTEXT)
        hi = found[-1].seq + REPORT_CONTEXT
        reported = {m.id for m in found}
        return [
            {**message_view(m), "reported": m.id in reported}
            for m in await repo.context_window(session, conv_id, lo, hi)
        ]
    raise Unprocessable(
        "message_ids must be messages of your conversation with this user.",
        code="unknown_messages",
    )


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """Messages this user sent and the conversations they belong to."""
    return {
        "conversations": [str(c) for c in await repo.conversations_of(session, user_id)],
        "messages_sent": [message_view(m) for m in await repo.sent_by(session, user_id)],
    }


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Redact every message the user sent (seq kept so the peer's history has no hole)."""
    return {"messages_redacted": await repo.redact_sent(session, user_id, clock.now())}
