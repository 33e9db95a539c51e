"""Privacy duties across domains: export everything held on a user, and erase an account."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import repository as accounts_repo
from rapport.accounts import service as accounts
from rapport.ai import service as ai
from rapport.chat import service as chat
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.errors import NotFound
from rapport.matching import service as matching
from rapport.moderation import service as moderation
from rapport.notifications import service as notifications
from rapport.profiles import service as profiles

ERASURE_RULE = """The account row stays as a tombstone (email, password and sessions removed) so
foreign keys and the peer's conversation history keep their shape; messages the user sent are
redacted (body emptied, kind ``deleted``, sender cleared) but keep their seq; profile, interests,
swipes and the blocks they made are deleted; matches end; reports they filed are kept for safety
without the reporter; evidence snapshots in reports about others are kept for safety; their
notifications, the notifications about them in others' inboxes, their Web Push subscriptions and
their notification preferences are deleted.
"""


async def export(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """Everything Rapport holds on the user, grouped by domain."""
    user = await accounts.get_user(session, user_id)
    if user is None:
        raise NotFound("Account not found.")
    sessions = await accounts_repo.sessions_of(session, user_id)
    return {
        "exported_at": clock.now().isoformat(),
        "account": {
            "id": str(user.id),
            "email": user.email,
            "locale": user.locale,
            "status": user.status,
            "created_at": user.created_at.isoformat(),
            "last_active_at": user.last_active_at.isoformat(),
            "sessions": [
                {
                    "id": str(s.id),
                    "created_at": s.created_at.isoformat(),
                    "last_used_at": s.last_used_at.isoformat(),
                    "ip": s.ip,
                    "user_agent": s.user_agent,
                    "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
                }
                for s in sessions
            ],
        },
        "profile": await profiles.export_for(session, user_id),
        "matching": await matching.export_for(session, user_id),
        "chat": await chat.export_for(session, user_id),
        "moderation": await moderation.export_for(session, user_id),
        "ai": await ai.export_for(session, user_id),
        "notifications": await notifications.export_for(session, user_id),
    }


async def erase(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Erase the account per the rule above; returns what was removed, by kind."""
    user = await accounts.get_user(session, user_id)
    if user is None or user.status == "erased":
        raise NotFound("Account not found.")
    removed: dict[str, int] = {}
    removed |= await matching.erase_for(session, user_id)
    removed |= await ai.erase_for(session, user_id)
    removed |= await chat.erase_for(session, user_id)
    removed |= await moderation.erase_for(session, user_id)
    removed |= await profiles.erase_for(session, user_id)
    removed |= await notifications.erase_for(session, user_id)
    removed["sessions_and_tokens_deleted"] = await accounts_repo.delete_user_tokens(
        session, user_id
    )
    user.email = None
    user.password_hash = None
    user.status = "erased"
    user.erased_at = clock.now()
    removed["account_credentials_deleted"] = 1
    emit(session, "user.erased", {"user_id": str(user_id)})
    emit(
        session,
        "auth.sessions_revoked",
        {"user_id": str(user_id), "session_ids": [], "reason": "account_erased"},
    )
    return removed
