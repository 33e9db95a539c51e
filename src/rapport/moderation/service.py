"""Moderation: blocks (symmetric in effect) and the report queue."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.chat import service as chat
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.errors import BadRequest, Forbidden, NotFound
from rapport.moderation import repository as repo
from rapport.moderation import review, sanctions
from rapport.moderation.models import Block, Report, Sanction


async def is_blocked(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    """True when either user blocked the other."""
    return await repo.block_exists_between(session, a, b)


async def hidden_from(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone the user blocked or was blocked by, and everyone shadow-banned (but the user
    themself): they are kept out of discovery, match lists and presence."""
    shadowed = await sanctions.shadow_banned(session)
    return await repo.blocked_either_way(session, user_id) | (shadowed - {user_id})


async def is_shadowed(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Is the user shadow-banned (their presence and messages reach no one)?"""
    return (await sanctions.standing(session, user_id)).shadowed


async def ensure_may_start_chats(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Muted users cannot start new chats: no likes (so no new matches)."""
    standing = await sanctions.standing(session, user_id)
    if standing.muted:
        raise Forbidden("You can't start new chats for now.", code="muted")


async def add_block(session: AsyncSession, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
    """Record a block; returns False when it already existed (idempotent)."""
    if await repo.get_block(session, blocker, blocked) is not None:
        return False
    session.add(Block(blocker_id=blocker, blocked_id=blocked))
    await session.flush()
    emit(session, "user.blocked", {"blocker_id": str(blocker), "blocked_id": str(blocked)})
    return True


async def ensure_reportable(
    session: AsyncSession, reporter: uuid.UUID, reported: uuid.UUID
) -> None:
    """A report names an existing account other than the reporter."""
    if reporter == reported:
        raise BadRequest("You cannot report yourself.", code="self_action")
    if await accounts.get_user(session, reported) is None:
        raise NotFound("No such user.", code="user_not_found")


async def create_report(
    session: AsyncSession,
    reporter: uuid.UUID,
    reported: uuid.UUID,
    reason: str,
    details: str,
    message_ids: list[uuid.UUID],
) -> Report:
    """Queue a report with a snapshot of the reported messages and their context."""
    messages = await chat.evidence_for_report(session, reporter, reported, message_ids)
    report = Report(
        reporter_id=reporter,
        reported_user_id=reported,
        reason=reason,
        details=details.strip(),
        message_ids=[str(m) for m in message_ids],
        evidence={"messages": messages, "captured_at": clock.now().isoformat()},
    )
    session.add(report)
    await session.flush()
    emit(
        session,
        "report.created",
        {
            "report_id": str(report.id),
            "reporter_id": str(reporter),
            "reported_user_id": str(reported),
            "reason": reason,
        },
    )
    return report


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """Blocks and reports this user made."""
    return {
        "blocks": [
            {"blocked_id": str(b.blocked_id), "created_at": b.created_at.isoformat()}
            for b in await repo.blocks_made(session, user_id)
        ],
        "reports": [
            {
                "id": str(r.id),
                "reported_user_id": str(r.reported_user_id),
                "reason": r.reason,
                "details": r.details,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
            }
            for r in await repo.reports_made(session, user_id)
        ],
        # Sanctions on the user, except a shadow-ban in force (it is silent by design).
        "sanctions": [
            {
                "level": x.level,
                "reason": x.reason,
                "created_at": x.created_at.isoformat(),
                "expires_at": x.expires_at.isoformat() if x.expires_at else None,
                "lifted_at": x.lifted_at.isoformat() if x.lifted_at else None,
            }
            for x in await repo.sanctions_of(session, user_id)
            if not (x.level == "shadow_ban" and x.lifted_at is None and _in_force(x))
        ],
    }


def _in_force(sanction: Sanction) -> bool:
    return sanction.expires_at is None or sanction.expires_at > clock.now()


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Drop the user's blocks; keep reports they filed, without the reporter."""
    return await repo.erase_user(session, user_id)


async def flag_for_review(
    session: AsyncSession,
    reported: uuid.UUID,
    reason: str,
    details: str,
    messages: list[dict[str, Any]],
) -> Report:
    """Queue an automatic report (no human reporter) with the flagged message as evidence."""
    return await review.flag_for_review(session, reported, reason, details, messages)
