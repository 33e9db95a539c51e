"""Every query of the moderation domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.moderation.models import (
    Block,
    CategoryAction,
    ConversationRisk,
    FilterTerm,
    ListChange,
    ModeratedMessage,
    Report,
    Sanction,
)


async def block_exists_between(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    row = await session.scalar(
        select(Block.blocker_id)
        .where(
            or_(
                (Block.blocker_id == a) & (Block.blocked_id == b),
                (Block.blocker_id == b) & (Block.blocked_id == a),
            )
        )
        .limit(1)
    )
    return row is not None


async def get_block(session: AsyncSession, blocker: uuid.UUID, blocked: uuid.UUID) -> Block | None:
    return await session.get(Block, (blocker, blocked))


async def blocked_either_way(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    rows = await session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id == user_id, Block.blocked_id == user_id)
        )
    )
    for blocker, blocked in rows:
        out.add(blocked if blocker == user_id else blocker)
    return out


async def blocks_made(session: AsyncSession, user_id: uuid.UUID) -> list[Block]:
    return list(await session.scalars(select(Block).where(Block.blocker_id == user_id)))


async def reports_made(session: AsyncSession, user_id: uuid.UUID) -> list[Report]:
    return list(await session.scalars(select(Report).where(Report.reporter_id == user_id)))


async def erase_user(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    blocks = await session.execute(delete(Block).where(Block.blocker_id == user_id))
    reports = await session.execute(
        update(Report).where(Report.reporter_id == user_id).values(reporter_id=None, details="")
    )
    return {
        "blocks_removed": int(getattr(blocks, "rowcount", 0) or 0),
        "reports_anonymised": int(getattr(reports, "rowcount", 0) or 0),
    }


# -- word lists ---------------------------------------------------------------------------


async def list_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(ListChange.seq))) or 0)


async def log_change(session: AsyncSession, actor: uuid.UUID | None, change: dict[str, Any]) -> int:
    row = ListChange(actor_id=actor, change=change)
    session.add(row)
    await session.flush()
    return row.seq


async def all_terms(session: AsyncSession) -> list[FilterTerm]:
    return list(await session.scalars(select(FilterTerm)))


async def get_term(session: AsyncSession, term_id: uuid.UUID) -> FilterTerm | None:
    return await session.get(FilterTerm, term_id)


async def term_by(session: AsyncSession, category: str, term: str) -> FilterTerm | None:
    return await session.scalar(
        select(FilterTerm).where(FilterTerm.category == category, FilterTerm.term == term)
    )


async def terms_page(
    session: AsyncSession, category: str | None, query: str | None, limit: int, offset: int
) -> list[FilterTerm]:
    stmt = select(FilterTerm)
    if category is not None:
        stmt = stmt.where(FilterTerm.category == category)
    if query:
        stmt = stmt.where(FilterTerm.term.contains(query, autoescape=True))
    stmt = stmt.order_by(FilterTerm.category, FilterTerm.term).limit(limit).offset(offset)
    return list(await session.scalars(stmt))


async def category_actions(session: AsyncSession) -> list[CategoryAction]:
    return list(await session.scalars(select(CategoryAction)))


async def get_category_action(session: AsyncSession, category: str) -> CategoryAction | None:
    return await session.get(CategoryAction, category)


# -- sanctions ----------------------------------------------------------------------------


def _active(now: datetime) -> Any:
    return and_(
        Sanction.lifted_at.is_(None),
        or_(Sanction.expires_at.is_(None), Sanction.expires_at > now),
    )


async def active_levels(
    session: AsyncSession, now: datetime
) -> list[tuple[uuid.UUID, str, datetime | None]]:
    """(user, level, expiry) of every active sanction (a node's snapshot; columns only)."""
    rows = await session.execute(
        select(Sanction.user_id, Sanction.level, Sanction.expires_at).where(_active(now))
    )
    return [(u, level, expires) for u, level, expires in rows]


async def active_sanctions(
    session: AsyncSession, user_ids: Collection[uuid.UUID], now: datetime
) -> list[Sanction]:
    if not user_ids:
        return []
    return list(
        await session.scalars(
            select(Sanction).where(Sanction.user_id.in_(list(user_ids)), _active(now))
        )
    )


async def sanctions_of(session: AsyncSession, user_id: uuid.UUID) -> list[Sanction]:
    return list(
        await session.scalars(
            select(Sanction).where(Sanction.user_id == user_id).order_by(Sanction.created_at)
        )
    )


async def get_sanction(session: AsyncSession, sanction_id: uuid.UUID) -> Sanction | None:
    return await session.get(Sanction, sanction_id)


async def claim_expired(session: AsyncSession, now: datetime, limit: int) -> list[Sanction]:
    """Expired sanctions not yet marked lifted, marked now (each claimed by one node)."""
    ids = list(
        await session.scalars(
            select(Sanction.id)
            .where(
                Sanction.lifted_at.is_(None),
                Sanction.expires_at.is_not(None),
                Sanction.expires_at <= now,
            )
            .limit(limit)
        )
    )
    if not ids:
        return []
    claimed = list(
        await session.scalars(
            update(Sanction)
            .where(Sanction.id.in_(ids), Sanction.lifted_at.is_(None))
            .values(lifted_at=now, lift_reason="expired")
            .returning(Sanction.id)
        )
    )
    return list(await session.scalars(select(Sanction).where(Sanction.id.in_(claimed))))


async def confirmed_reports_against(
    session: AsyncSession, user_id: uuid.UUID, since: datetime
) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(Report)
        .where(
            Report.reported_user_id == user_id,
            Report.resolution == "confirmed",
            Report.resolved_at >= since,
        )
    )
    return int(n or 0)


# -- the report queue ----------------------------------------------------------------------


async def get_report(session: AsyncSession, report_id: uuid.UUID) -> Report | None:
    return await session.get(Report, report_id)


async def report_page(
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
    stmt = select(Report)
    if status is not None:
        stmt = stmt.where(Report.status == status)
    if reason is not None:
        stmt = stmt.where(Report.reason == reason)
    if unassigned:
        stmt = stmt.where(Report.assignee_id.is_(None))
    elif assignee is not None:
        stmt = stmt.where(Report.assignee_id == assignee)
    if reported_user_id is not None:
        stmt = stmt.where(Report.reported_user_id == reported_user_id)
    if before is not None:
        stmt = stmt.where(Report.created_at < before)
    stmt = stmt.order_by(Report.priority.desc(), Report.created_at.desc()).limit(limit)
    return list(await session.scalars(stmt))


# -- conversation risk and moderated messages ------------------------------------------------


async def get_risk(session: AsyncSession, conversation_id: uuid.UUID) -> ConversationRisk | None:
    return await session.get(ConversationRisk, conversation_id)


async def add_moderated(session: AsyncSession, row: ModeratedMessage) -> None:
    session.add(row)
    await session.flush()


async def moderated_of(session: AsyncSession, message_id: uuid.UUID) -> ModeratedMessage | None:
    return await session.get(ModeratedMessage, message_id)
