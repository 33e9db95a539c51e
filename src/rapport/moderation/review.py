"""The moderation queue: automatic flags, listing, assignment and resolution.

A report is ``open`` until a moderator takes it (``in_review``, with an assignee) and
``resolved`` with an outcome: ``confirmed`` (the reported user is escalated one step on the
sanctions ladder, automatically) or ``dismissed``. Urgent reasons (minors, self-harm, scams)
carry priority 1 and are listed first.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.errors import Conflict, NotFound, Unprocessable
from rapport.moderation import repository as repo
from rapport.moderation import sanctions
from rapport.moderation.models import Report, Sanction

PAGE_MAX = 100


async def flag_for_review(
    session: AsyncSession,
    reported: uuid.UUID,
    reason: str,
    details: str,
    messages: list[dict[str, Any]],
    *,
    priority: int = 0,
    conversation_id: uuid.UUID | None = None,
    extra: dict[str, Any] | None = None,
) -> Report:
    """Queue an automatic report (no human reporter) with its evidence."""
    report = Report(
        reporter_id=None,
        reported_user_id=reported,
        reason=reason,
        details=details,
        message_ids=[m["id"] for m in messages],
        evidence={
            "messages": messages,
            "captured_at": clock.now().isoformat(),
            "automatic": True,
            **(extra or {}),
        },
        priority=priority,
        conversation_id=conversation_id,
    )
    session.add(report)
    await session.flush()
    emit(
        session,
        "moderation.flagged",
        {"report_id": str(report.id), "reported_user_id": str(reported), "reason": reason},
    )
    return report


async def queue(
    session: AsyncSession,
    *,
    status: str | None,
    reason: str | None,
    assignee: uuid.UUID | None,
    unassigned: bool,
    reported_user_id: uuid.UUID | None,
    before: datetime | None,
    limit: int,
) -> list[Report]:
    """A page of the queue, urgent first, then newest first."""
    return await repo.report_page(
        session,
        status=status,
        reason=reason,
        assignee=assignee,
        unassigned=unassigned,
        reported_user_id=reported_user_id,
        before=before,
        limit=min(limit, PAGE_MAX),
    )


async def get(session: AsyncSession, report_id: uuid.UUID) -> Report:
    report = await repo.get_report(session, report_id)
    if report is None:
        raise NotFound("No such report.", code="report_not_found")
    return report


async def assign(session: AsyncSession, report_id: uuid.UUID, assignee: uuid.UUID | None) -> Report:
    """Give a report to a moderator (or back to the queue with ``None``)."""
    report = await get(session, report_id)
    if report.status == "resolved":
        raise Conflict("This report is already resolved.", code="report_resolved")
    if assignee is not None:
        user = await accounts.get_user(session, assignee)
        if user is None or user.role not in ("moderator", "admin"):
            raise Unprocessable("The assignee must be a moderator.", code="not_a_moderator")
    report.assignee_id = assignee
    report.assigned_at = clock.now() if assignee is not None else None
    report.status = "in_review" if assignee is not None else "open"
    await session.flush()
    return report


async def resolve(
    session: AsyncSession, report_id: uuid.UUID, moderator: uuid.UUID, outcome: str, note: str
) -> tuple[Report, Sanction | None]:
    """Close a report; a confirmed one escalates the reported user automatically."""
    report = await get(session, report_id)
    if report.status == "resolved":
        raise Conflict("This report is already resolved.", code="report_resolved")
    report.status = "resolved"
    report.resolution = outcome
    report.resolution_note = note.strip() or None
    report.resolved_at = clock.now()
    report.resolved_by = moderator
    if report.assignee_id is None:
        report.assignee_id = moderator
    await session.flush()
    sanction = None
    if outcome == "confirmed":
        sanction = await sanctions.escalate(session, report, moderator)
    emit(
        session,
        "report.resolved",
        {
            "report_id": str(report.id),
            "reported_user_id": str(report.reported_user_id) if report.reported_user_id else None,
            "outcome": outcome,
            "sanction_id": str(sanction.id) if sanction else None,
        },
    )
    return report, sanction
