"""The sanctions ladder: warn → rate limit → mute → shadow-ban → ban.

Each step is a row in ``sanctions`` with a reason, the actor, an optional expiry and, once
reversed, who lifted it and why. A user's *standing* is their highest active step:

- ``warn``: a notice only.
- ``rate_limit``: sends go through a slow token bucket and the trust limits of a new account.
- ``mute``: as rate_limit, and no new chats: no likes, no first message in a conversation.
- ``shadow_ban``: silent: the user's messages reach no one else (the sender gets a normal ack
  and sees them), their typing is not relayed, and others no longer see them in discovery,
  match lists or presence. Never shown to the user.
- ``ban``: the account cannot sign in or refresh; every socket closes within the socket
  re-check interval (2 s by default); login sessions are revoked.

A confirmed report escalates automatically (:func:`escalate`). Each node keeps a snapshot of
every active sanction, read in one query at most every ``STANDING_TTL_S`` (changes made on
this node take effect at once; other nodes follow within the TTL; expiries are checked on
every look-up), so the send path does not query sanctions for every message or sender.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.db import after_commit
from rapport.kit.errors import Conflict, NotFound
from rapport.moderation import repository as repo
from rapport.moderation.models import Report, Sanction

LADDER = ("warn", "rate_limit", "mute", "shadow_ban", "ban")
RANK = {level: i + 1 for i, level in enumerate(LADDER)}
# How long each step lasts when the actor gives no expiry (None: until lifted).
DEFAULT_DURATION: dict[str, timedelta | None] = {
    "warn": timedelta(days=30),
    "rate_limit": timedelta(days=7),
    "mute": timedelta(days=14),
    "shadow_ban": timedelta(days=30),
    "ban": None,
}
ESCALATION_WINDOW = timedelta(days=180)
STANDING_TTL_S = 2.0


@dataclass(frozen=True)
class Standing:
    level: str | None = None
    expires_at: datetime | None = None

    @property
    def rank(self) -> int:
        return RANK.get(self.level or "", 0)

    @property
    def limited(self) -> bool:
        return self.level in ("rate_limit", "mute")

    @property
    def muted(self) -> bool:
        return self.level == "mute"

    @property
    def shadowed(self) -> bool:
        return self.level == "shadow_ban"

    def in_force(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


CLEAR = Standing()
# (read at, {user: their active sanctions, highest first})
_snapshot: list[tuple[float, dict[uuid.UUID, list[Standing]]]] = []


def forget() -> None:
    """Drop the node's snapshot so the next look-up reads the database (a change to one
    user's sanctions re-reads everyone's: one query)."""
    _snapshot.clear()


async def _active_by_user(session: AsyncSession) -> dict[uuid.UUID, list[Standing]]:
    if _snapshot and time.monotonic() - _snapshot[0][0] < STANDING_TTL_S:
        return _snapshot[0][1]
    by_user: dict[uuid.UUID, list[Standing]] = {}
    for user_id, level, expires_at in await repo.active_levels(session, clock.now()):
        by_user.setdefault(user_id, []).append(Standing(level, expires_at))
    for held in by_user.values():
        held.sort(key=lambda st: st.rank, reverse=True)
    _snapshot[:] = [(time.monotonic(), by_user)]
    return by_user


async def standings(session: AsyncSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Standing]:
    """Each user's highest active sanction."""
    by_user = await _active_by_user(session)
    now = clock.now()
    out: dict[uuid.UUID, Standing] = {}
    for user in user_ids:
        out[user] = next((st for st in by_user.get(user, ()) if st.in_force(now)), CLEAR)
    return out


async def standing(session: AsyncSession, user_id: uuid.UUID) -> Standing:
    return (await standings(session, [user_id]))[user_id]


async def shadow_banned(session: AsyncSession) -> frozenset[uuid.UUID]:
    """Everyone with an active shadow-ban (from the same snapshot as standings)."""
    now = clock.now()
    return frozenset(
        user
        for user, held in (await _active_by_user(session)).items()
        if any(st.shadowed and st.in_force(now) for st in held)
    )


def _expiry(level: str, expires_at: datetime | None, duration_s: int | None) -> datetime | None:
    if expires_at is not None:
        return expires_at
    if duration_s is not None:
        return clock.now() + timedelta(seconds=duration_s)
    default = DEFAULT_DURATION[level]
    return clock.now() + default if default is not None else None


def _event(s: Sanction, reason: str) -> dict[str, Any]:
    return {
        "sanction_id": str(s.id),
        "user_id": str(s.user_id),
        "level": s.level,
        "reason": reason,
        "expires_at": s.expires_at.isoformat() if s.expires_at else None,
    }


async def apply(
    session: AsyncSession,
    user_id: uuid.UUID,
    level: str,
    reason: str,
    actor: uuid.UUID | None,
    *,
    expires_at: datetime | None = None,
    duration_s: int | None = None,
    report_id: uuid.UUID | None = None,
) -> Sanction:
    """Put a user on a step of the ladder (logged, announced, reversible)."""
    if level not in RANK:
        raise NotFound("No such sanction level.", code="unknown_level")
    if await accounts.get_user(session, user_id) is None:
        raise NotFound("No such user.", code="user_not_found")
    sanction = Sanction(
        user_id=user_id,
        level=level,
        reason=reason.strip(),
        actor_id=actor,
        report_id=report_id,
        expires_at=_expiry(level, expires_at, duration_s),
    )
    session.add(sanction)
    await session.flush()
    if level == "ban":
        await accounts.suspend(session, user_id)
    emit(session, "user.sanctioned", {**_event(sanction, sanction.reason), "actor_id": _s(actor)})
    if level != "shadow_ban":  # a shadow-ban is silent
        emit(
            session,
            "moderation.notice",
            {
                "recipients": [str(user_id)],
                "payload": {
                    "level": level,
                    "reason": sanction.reason,
                    "expires_at": _iso(sanction.expires_at),
                },
            },
        )
    after_commit(session, forget)
    return sanction


async def lift(
    session: AsyncSession, sanction_id: uuid.UUID, actor: uuid.UUID | None, reason: str
) -> Sanction:
    """Reverse a sanction; lifting the last active ban lets the account sign in again."""
    sanction = await repo.get_sanction(session, sanction_id)
    if sanction is None:
        raise NotFound("No such sanction.", code="sanction_not_found")
    now = clock.now()
    if sanction.lifted_at is not None or (
        sanction.expires_at is not None and sanction.expires_at <= now
    ):
        raise Conflict("This sanction is no longer active.", code="sanction_not_active")
    sanction.lifted_at = now
    sanction.lifted_by = actor
    sanction.lift_reason = reason.strip()
    await session.flush()
    await _after_lift(session, sanction, sanction.lift_reason)
    return sanction


async def _after_lift(session: AsyncSession, sanction: Sanction, reason: str) -> None:
    if sanction.level == "ban":
        others = await repo.active_sanctions(session, [sanction.user_id], clock.now())
        if not any(s.level == "ban" for s in others):
            await accounts.reinstate(session, sanction.user_id)
    emit(session, "user.sanction_lifted", _event(sanction, reason))
    after_commit(session, forget)


async def expire_due(session: AsyncSession, limit: int = 200) -> int:
    """Mark sanctions whose time is up as lifted (reinstating expired bans); each is claimed
    by exactly one node."""
    expired = await repo.claim_expired(session, clock.now(), limit)
    for sanction in expired:
        await _after_lift(session, sanction, "expired")
    return len(expired)


async def escalate(session: AsyncSession, report: Report, actor: uuid.UUID) -> Sanction | None:
    """The next step for the reported user after a confirmed report: one above their current
    standing, and at least the step matching how many reports were confirmed recently."""
    user = report.reported_user_id
    if user is None:
        return None
    forget()
    current = await standing(session, user)
    confirmed = await repo.confirmed_reports_against(session, user, clock.now() - ESCALATION_WINDOW)
    rank = min(len(LADDER), max(current.rank + 1, confirmed))
    level = LADDER[rank - 1]
    return await apply(
        session,
        user,
        level,
        f"Confirmed report ({report.reason}); automatic escalation",
        actor,
        report_id=report.id,
    )


def _s(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
