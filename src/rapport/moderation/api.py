"""HTTP routes of moderation available to every user: reports and one's own standing."""

from __future__ import annotations

from fastapi import APIRouter, status

from rapport.accounts.deps import CurrentUser
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.matching import service as matching
from rapport.moderation import sanctions, service
from rapport.moderation.schemas import MyStanding, ReportCreate, ReportReceipt

router = APIRouter(prefix="/api/v1", tags=["moderation"], responses=STANDARD_PROBLEMS)


@router.post("/reports", status_code=status.HTTP_201_CREATED)
async def create_report(body: ReportCreate, session: DbSession, me: CurrentUser) -> ReportReceipt:
    """Report a user (optionally with message ids as evidence, and blocking them)."""
    await service.ensure_reportable(session, me.user_id, body.user_id)
    report = await service.create_report(
        session, me.user_id, body.user_id, body.reason, body.details, body.message_ids
    )
    if body.block:
        await matching.block(session, me.user_id, body.user_id)
    return ReportReceipt(
        id=report.id, status="open", created_at=report.created_at, blocked=body.block
    )


@router.get("/me/standing", summary="Your standing: sanctions and trust tier")
async def my_standing(session: DbSession, me: CurrentUser, rt: RuntimeDep) -> MyStanding:
    """Sanctions in force on you (warn, rate_limit, mute) and your trust tier, which sets how
    many new conversations you may start per day and per hour."""
    standing = await sanctions.standing(session, me.user_id)
    visible = None if standing.shadowed else standing
    return MyStanding(
        level=visible.level if visible else None,
        expires_at=visible.expires_at if visible else None,
        can_start_chats=not standing.muted,
        trust_tier=await rt.moderation.tier(session, me.user_id, visible or sanctions.CLEAR),
    )
