"""Rapport's own reasons to notify: a message for someone away, and a new match.

Each function runs in a transaction of its own, after the event that caused it committed; it
re-checks that the conversation is still live and that neither person blocked the other.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.chat import service as chat
from rapport.kit.errors import NotFound
from rapport.moderation import service as moderation
from rapport.notifications import repository as repo
from rapport.notifications.models import Notification
from rapport.notifications.service import notify
from rapport.profiles import service as profiles

PREVIEW_MAX = 120

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "someone": "Someone",
        "message_one": "New message from {name}",
        "message_many": "{count} new messages from {name}",
        "not_text": "Sent you a message",
        "match_title": "It's a match!",
        "match_body": "You and {name} like each other. Say hello!",
    },
    "zh-CN": {
        "someone": "对方",
        "message_one": "{name} 发来一条新消息",
        "message_many": "{name} 发来 {count} 条新消息",
        "not_text": "给你发来一条消息",
        "match_title": "配对成功！",
        "match_body": "你和{name}互相喜欢，去打个招呼吧！",
    },
}


def message_key(conversation_id: uuid.UUID | str) -> str:
    """The collapse key of a conversation's message notifications."""
    return f"message:{conversation_id}"


async def _live_between(
    session: AsyncSession, user_id: uuid.UUID, peer_id: uuid.UUID, conversation_id: uuid.UUID
) -> bool:
    try:
        await chat.require_member(session, user_id, conversation_id)
    except NotFound:
        return False  # closed (unmatch, block, erasure) or not a member
    return not await moderation.is_blocked(session, user_id, peer_id)


async def _texts_and_name(
    session: AsyncSession, user_id: uuid.UUID, peer_id: uuid.UUID
) -> tuple[dict[str, str], str]:
    user = await accounts.get_user(session, user_id)
    texts = TEXTS.get(user.locale if user else "en", TEXTS["en"])
    profile = await profiles.profile_of(session, peer_id)
    return texts, (profile.display_name if profile and profile.display_name else texts["someone"])


def preview(message: dict[str, Any], texts: dict[str, str]) -> str:
    """A short plain-text preview; other kinds (encrypted, media, deleted) are not shown."""
    if message.get("kind") != "text":
        return texts["not_text"]
    text = " ".join(str(message.get("body", "")).split())
    if not text:
        return texts["not_text"]
    return text if len(text) <= PREVIEW_MAX else text[: PREVIEW_MAX - 1] + "…"


async def notify_message(
    session: AsyncSession, recipient: uuid.UUID, message: dict[str, Any]
) -> Notification | None:
    """One collapsing entry per conversation: "3 new messages from Mei" with the latest text."""
    raw_sender = message.get("sender_id")
    if raw_sender is None:
        return None
    sender = uuid.UUID(str(raw_sender))
    conversation = uuid.UUID(str(message["conversation_id"]))
    if sender == recipient or not await _live_between(session, recipient, sender, conversation):
        return None
    texts, name = await _texts_and_name(session, recipient, sender)
    key = message_key(conversation)
    pending = await repo.open_by_key(session, recipient, key)
    count = pending.count + 1 if pending is not None else 1
    title = (
        texts["message_one"].format(name=name)
        if count == 1
        else texts["message_many"].format(name=name, count=count)
    )
    return await notify(
        session,
        recipient,
        "message",
        title,
        preview(message, texts),
        {
            "conversation_id": str(conversation),
            "message_id": str(message["id"]),
            "sender_id": str(sender),
            "seq": message.get("seq"),
            "url": f"/chat/{conversation}",
        },
        collapse_key=key,
        actor_id=sender,
    )


async def notify_match(
    session: AsyncSession,
    user_id: uuid.UUID,
    peer_id: uuid.UUID,
    match_id: uuid.UUID,
    conversation_id: uuid.UUID,
) -> Notification | None:
    """Tell one member of a new match who they matched with."""
    if not await _live_between(session, user_id, peer_id, conversation_id):
        return None
    texts, name = await _texts_and_name(session, user_id, peer_id)
    return await notify(
        session,
        user_id,
        "match",
        texts["match_title"],
        texts["match_body"].format(name=name),
        {
            "match_id": str(match_id),
            "conversation_id": str(conversation_id),
            "peer_id": str(peer_id),
            "url": f"/chat/{conversation_id}",
        },
        actor_id=peer_id,
    )


async def conversation_closed(
    session: AsyncSession, conversation_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> int:
    """A closed conversation's message notifications (and their previews) go away."""
    return await repo.delete_by_collapse_key(session, user_ids, message_key(conversation_id))
