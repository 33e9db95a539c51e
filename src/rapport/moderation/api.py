"""HTTP routes of moderation available to every user: reports."""

from __future__ import annotations

from fastapi import APIRouter, status

from rapport.accounts.deps import CurrentUser
from rapport.kit.http import STANDARD_PROBLEMS, DbSession
from rapport.matching import service as matching
from rapport.moderation import service
from rapport.moderation.schemas import ReportCreate, ReportReceipt

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
