"""HTTP routes for moderators and admins (``/api/v1/admin``).

Moderators (and admins) work the report queue: list and filter it, assign, review a report
with its evidence, resolve it (a confirmed report escalates the reported user), and look at a
conversation's risk score. Admins alone apply and lift sanctions, verify users and edit the
word lists.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from rapport.accounts import service as accounts
from rapport.accounts.deps import AdminUser, ModeratorUser
from rapport.kit.errors import NotFound
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.moderation import admin, review, sanctions
from rapport.moderation import repository as repo
from rapport.moderation.schemas import (
    AssignIn,
    CategoryIn,
    CategoryOut,
    LiftIn,
    ListName,
    ListsOut,
    ReportDetail,
    ReportPage,
    ReportStatus,
    Resolution,
    ResolveIn,
    RiskOut,
    SanctionIn,
    SanctionOut,
    ScreenIn,
    ScreenOut,
    TermIn,
    TermOut,
    TermPage,
    VerificationIn,
    VerificationOut,
)

router = APIRouter(prefix="/api/v1/admin", tags=["moderation admin"], responses=STANDARD_PROBLEMS)


# -- the queue (moderators) -----------------------------------------------------------------


@router.get("/reports", summary="List the moderation queue")
async def list_reports(
    session: DbSession,
    me: ModeratorUser,
    status_: Annotated[ReportStatus | None, Query(alias="status")] = None,
    reason: Annotated[str | None, Query(max_length=48)] = None,
    assignee: Annotated[
        str | None, Query(description="'me', 'none', or a moderator's id", max_length=40)
    ] = None,
    reported_user_id: uuid.UUID | None = None,
    before: Annotated[datetime | None, Query(description="Reports created before this")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ReportPage:
    """Reports and automatic flags, urgent first, then newest first; filter by status,
    reason, assignee and reported user."""
    who: uuid.UUID | None = None
    if assignee == "me":
        who = me.user_id
    elif assignee not in (None, "none"):
        try:
            who = uuid.UUID(assignee)
        except ValueError as exc:
            raise NotFound("No such moderator.", code="user_not_found") from exc
    rows = await review.queue(
        session,
        status=status_,
        reason=reason,
        assignee=who,
        unassigned=assignee == "none",
        reported_user_id=reported_user_id,
        before=before,
        limit=limit,
    )
    return ReportPage(
        reports=[admin.report_summary(r) for r in rows],
        next_before=rows[-1].created_at if len(rows) == limit else None,
    )


@router.get("/reports/{report_id}", summary="Review a report with its evidence")
async def get_report(report_id: uuid.UUID, session: DbSession, me: ModeratorUser) -> ReportDetail:
    """One report: details, the evidence snapshot (messages and context), assignment."""
    return admin.report_detail(await review.get(session, report_id))


@router.post("/reports/{report_id}/assign", summary="Assign a report")
async def assign_report(
    report_id: uuid.UUID, body: AssignIn, session: DbSession, me: ModeratorUser
) -> ReportDetail:
    """Take a report (default), give it to another moderator, or put it back (unassign)."""
    assignee = None if body.unassign else (body.assignee_id or me.user_id)
    return admin.report_detail(await review.assign(session, report_id, assignee))


@router.post("/reports/{report_id}/resolve", summary="Resolve a report")
async def resolve_report(
    report_id: uuid.UUID, body: ResolveIn, session: DbSession, me: ModeratorUser
) -> Resolution:
    """Close a report as confirmed (the reported user moves one step up the sanctions
    ladder, automatically) or dismissed."""
    report, sanction = await review.resolve(session, report_id, me.user_id, body.outcome, body.note)
    return Resolution(
        report=admin.report_detail(report),
        sanction=admin.sanction_out(sanction) if sanction else None,
    )


@router.get("/conversations/{conversation_id}/risk", summary="A conversation's scam risk")
async def conversation_risk(
    conversation_id: uuid.UUID, session: DbSession, me: ModeratorUser
) -> RiskOut:
    """Money, crypto and investment signals seen in a conversation, per sender, and the
    score that flags it for review past the threshold."""
    return await admin.risk(session, conversation_id)


# -- sanctions (admins) ---------------------------------------------------------------------


@router.get("/users/{user_id}/sanctions", summary="A user's sanctions")
async def list_sanctions(
    user_id: uuid.UUID, session: DbSession, me: AdminUser
) -> list[SanctionOut]:
    """Every sanction of a user, oldest first, lifted and expired ones included."""
    if await accounts.get_user(session, user_id) is None:
        raise NotFound("No such user.", code="user_not_found")
    return [admin.sanction_out(s) for s in await repo.sanctions_of(session, user_id)]


@router.post(
    "/users/{user_id}/sanctions", status_code=status.HTTP_201_CREATED, summary="Sanction a user"
)
async def sanction_user(
    user_id: uuid.UUID, body: SanctionIn, session: DbSession, me: AdminUser
) -> SanctionOut:
    """Put a user on a step of the ladder: warn, rate_limit, mute, shadow_ban or ban (a ban
    closes their sockets within seconds and refuses login and refresh)."""
    if body.report_id is not None and await repo.get_report(session, body.report_id) is None:
        raise NotFound("No such report.", code="report_not_found")
    sanction = await sanctions.apply(
        session,
        user_id,
        body.level,
        body.reason,
        me.user_id,
        duration_s=body.duration_s,
        report_id=body.report_id,
    )
    return admin.sanction_out(sanction)


@router.post("/sanctions/{sanction_id}/lift", summary="Lift a sanction")
async def lift_sanction(
    sanction_id: uuid.UUID, body: LiftIn, session: DbSession, me: AdminUser
) -> SanctionOut:
    """Reverse a sanction (a lifted ban lets the account sign in again)."""
    return admin.sanction_out(await sanctions.lift(session, sanction_id, me.user_id, body.reason))


@router.put("/users/{user_id}/verification", summary="Mark a user verified")
async def verify_user(
    user_id: uuid.UUID, body: VerificationIn, session: DbSession, me: AdminUser
) -> VerificationOut:
    """Verified people get the highest trust limits."""
    at = await accounts.set_verified(session, user_id, body.verified)
    return VerificationOut(user_id=user_id, verified_at=at)


# -- word lists (admins) --------------------------------------------------------------------


@router.get("/moderation/lists", summary="Word lists: version, categories, actions")
async def lists_overview(session: DbSession, me: AdminUser) -> ListsOut:
    """The lists in force: version, each category's action and number of terms."""
    return await admin.overview(session)


@router.get("/moderation/terms", summary="Terms admins added or switched off")
async def list_terms(
    session: DbSession,
    me: AdminUser,
    category: ListName | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TermPage:
    """Runtime edits of the word lists (the shipped lists are data files in the source)."""
    rows, version = await admin.terms(session, category, q, limit, offset)
    return TermPage(terms=rows, version=version)


@router.post("/moderation/terms", summary="Add or switch off a term")
async def put_term(body: TermIn, session: DbSession, me: AdminUser, rt: RuntimeDep) -> TermOut:
    """Add a term to a category or to the allowlist (``enabled: false`` switches a term
    off, shipped ones included). Every node applies it within seconds."""
    row = await admin.put_term(
        session, rt.moderation, rt.sessionmaker, me.user_id, body.category, body.term, body.enabled
    )
    return admin.term_out(row)


@router.delete(
    "/moderation/terms/{term_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a term edit",
    response_class=Response,
)
async def delete_term(
    term_id: uuid.UUID, session: DbSession, me: AdminUser, rt: RuntimeDep
) -> None:
    """Remove an admin's entry."""
    await admin.delete_term(session, rt.moderation, rt.sessionmaker, me.user_id, term_id)


@router.put("/moderation/categories/{category}", summary="Set a category's action")
async def set_category_action(
    category: ListName, body: CategoryIn, session: DbSession, me: AdminUser, rt: RuntimeDep
) -> CategoryOut:
    """block, nudge, mask, flag, warn or none; null restores the default. For ``contact``
    an explicit action replaces the settings' policy for identifiers."""
    await admin.set_action(
        session, rt.moderation, rt.sessionmaker, me.user_id, category, body.action
    )
    found = [c for c in (await admin.overview(session)).categories if c.category == category]
    return found[0]


@router.post("/moderation/screen", summary="Try the filter on a text")
async def screen_text(
    body: ScreenIn, session: DbSession, me: ModeratorUser, rt: RuntimeDep
) -> ScreenOut:
    """What the filter in force on this node would do to a message; nothing is stored."""
    return await admin.screen(session, rt.moderation, body.text, body.position)
