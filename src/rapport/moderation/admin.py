"""What admins and moderators do: edit the word lists, look at the queue's objects, and the
views the admin API returns. Every list edit is logged with its actor; the node that made it
rebuilds its filter right after the commit, every other node within its reload interval."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rapport.kit import clock
from rapport.kit.db import after_commit
from rapport.kit.errors import NotFound, Unprocessable
from rapport.moderation import repository as repo
from rapport.moderation.categories import ALLOW, CATEGORIES, ai_flags
from rapport.moderation.filter import forms
from rapport.moderation.gate import ConfirmRequired, ContentBlocked, Moderation
from rapport.moderation.lists import compose, read_edits, shipped
from rapport.moderation.models import CategoryAction, FilterTerm, Report, Sanction
from rapport.moderation.schemas import (
    CategoryOut,
    ListsOut,
    ReportDetail,
    ReportSummary,
    RiskOut,
    SanctionOut,
    ScreenHit,
    ScreenOut,
    TermOut,
)

Factory = async_sessionmaker[AsyncSession]


def _reload_after_commit(session: AsyncSession, guard: Moderation, factory: Factory) -> None:
    after_commit(session, lambda: guard.lists.refresh_with(factory))


async def put_term(
    session: AsyncSession,
    guard: Moderation,
    factory: Factory,
    actor: uuid.UUID,
    category: str,
    term: str,
    enabled: bool,
) -> FilterTerm:
    """Add a term to a list (or switch one off with ``enabled=False``); idempotent."""
    term = " ".join(term.split())
    if not forms(term):
        raise Unprocessable(
            "A term needs at least two characters after normalisation.", code="term_too_short"
        )
    row = await repo.term_by(session, category, term)
    now = clock.now()
    if row is None:
        row = FilterTerm(category=category, term=term, enabled=enabled, created_by=actor)
        session.add(row)
    else:
        row.enabled = enabled
        row.updated_at = now
    await session.flush()
    op = "add" if enabled else "disable"
    await repo.log_change(session, actor, {"op": op, "category": category, "term": term})
    _reload_after_commit(session, guard, factory)
    return row


async def delete_term(
    session: AsyncSession, guard: Moderation, factory: Factory, actor: uuid.UUID, term_id: uuid.UUID
) -> None:
    """Remove an admin's entry (a shipped term it switched off is back in force)."""
    row = await repo.get_term(session, term_id)
    if row is None:
        raise NotFound("No such term.", code="term_not_found")
    change = {"op": "delete", "category": row.category, "term": row.term}
    await session.delete(row)
    await session.flush()
    await repo.log_change(session, actor, change)
    _reload_after_commit(session, guard, factory)


async def set_action(
    session: AsyncSession,
    guard: Moderation,
    factory: Factory,
    actor: uuid.UUID,
    category: str,
    action: str | None,
) -> None:
    """Change what a category does (None restores the shipped default)."""
    if category not in CATEGORIES:
        raise NotFound("No such category.", code="category_not_found")
    row = await repo.get_category_action(session, category)
    if action is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(CategoryAction(category=category, action=action, updated_by=actor))
    else:
        row.action, row.updated_by, row.updated_at = action, actor, clock.now()
    await session.flush()
    await repo.log_change(session, actor, {"op": "action", "category": category, "action": action})
    _reload_after_commit(session, guard, factory)


async def overview(session: AsyncSession) -> ListsOut:
    """Version, per-category actions and term counts of the lists in the database."""
    edits = await read_edits(session)
    spec = compose(edits)
    return ListsOut(
        version=edits.version,
        categories=[
            CategoryOut(
                category=c.name,
                label=c.label,
                label_zh=c.label_zh,
                action=edits.actions.get(
                    c.name, "policy" if c.name == "contact" else c.default_action
                ),
                default_action="policy" if c.name == "contact" else c.default_action,
                terms=len(spec.terms.get(c.name, ())),
            )
            for c in CATEGORIES.values()
        ],
        allow=len(spec.allow),
        patterns=len(shipped().patterns),
    )


async def terms(
    session: AsyncSession, category: str | None, query: str | None, limit: int, offset: int
) -> tuple[list[TermOut], int]:
    rows = await repo.terms_page(session, category, query, limit, offset)
    return [term_out(r) for r in rows], await repo.list_version(session)


def term_out(row: FilterTerm) -> TermOut:
    return TermOut(
        id=row.id,
        category=row.category,
        term=row.term,
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def screen(session: AsyncSession, guard: Moderation, text: str, position: int) -> ScreenOut:
    """What the current lists would do to a message (a dry run; nothing is stored)."""
    lists = await guard.lists.ensure(session)
    scan = lists.filter.scan(text)
    actions = guard.actions_for(lists, scan, position)
    outcome: Any = "deliver"
    if any(a == "block" for a in actions.values()):
        outcome = ContentBlocked.code
    elif any(a == "nudge" for a in actions.values()):
        outcome = ConfirmRequired.code
    masked = [c for c, a in actions.items() if a == "mask"]
    return ScreenOut(
        outcome=outcome,
        actions=dict(sorted(actions.items())),
        hits=[ScreenHit(category=h.category, kind=h.kind, view=h.view) for h in scan.hits],
        body=lists.filter.mask(text, masked) if masked else text,
        flags=ai_flags(scan.categories),
    )


def report_summary(r: Report) -> ReportSummary:
    return ReportSummary(**_report_fields(r))


def report_detail(r: Report) -> ReportDetail:
    return ReportDetail(
        **_report_fields(r),
        details=r.details,
        message_ids=list(r.message_ids),
        evidence=dict(r.evidence),
        assigned_at=r.assigned_at,
        resolved_by=r.resolved_by,
        resolution_note=r.resolution_note,
    )


def _report_fields(r: Report) -> dict[str, Any]:
    return {
        "id": r.id,
        "reason": r.reason,
        "status": r.status,
        "priority": r.priority,
        "reporter_id": r.reporter_id,
        "reported_user_id": r.reported_user_id,
        "conversation_id": r.conversation_id,
        "assignee_id": r.assignee_id,
        "created_at": r.created_at,
        "resolved_at": r.resolved_at,
        "resolution": r.resolution,
        "automatic": bool(r.evidence.get("automatic")) if r.evidence else False,
    }


def sanction_out(s: Sanction) -> SanctionOut:
    now = clock.now()
    return SanctionOut(
        id=s.id,
        user_id=s.user_id,
        level=s.level,
        reason=s.reason,
        actor_id=s.actor_id,
        report_id=s.report_id,
        created_at=s.created_at,
        expires_at=s.expires_at,
        lifted_at=s.lifted_at,
        lifted_by=s.lifted_by,
        lift_reason=s.lift_reason,
        active=s.lifted_at is None and (s.expires_at is None or s.expires_at > now),
    )


async def risk(session: AsyncSession, conversation_id: uuid.UUID) -> RiskOut:
    row = await repo.get_risk(session, conversation_id)
    if row is None:
        return RiskOut(
            conversation_id=conversation_id,
            score=0,
            signals={},
            flagged_at=None,
            report_id=None,
            updated_at=None,
        )
    return RiskOut(
        conversation_id=row.conversation_id,
        score=row.score,
        signals=dict(row.signals),
        flagged_at=row.flagged_at,
        report_id=row.report_id,
        updated_at=row.updated_at,
    )


def valid_list(category: str) -> bool:
    return category in CATEGORIES or category == ALLOW
