"""The jobs workflows own, and wiring of the dispatcher and scheduler into a node.

- ``match.followup`` — scheduled in the match's own transaction for
  ``RAPPORT_FOLLOWUP_AFTER_S`` later; if nobody has written yet, both people get a reminder
  (inbox, socket, or Web Push when offline).
- ``reminder`` — a reminder an automation scheduled (inbound API) for one user.
- ``conversations.stall_scan`` — recurring; every live conversation quiet for
  ``RAPPORT_AI_STALL_AFTER_S`` raises ``conversation.stalled`` once per point of silence,
  and the AI coach nudges the member whose turn it is.
- ``conversation.stalled`` — writes that event (to the outbox) for one conversation.
- ``workflows.cleanup`` — recurring; drops delivered webhook bodies, dispatched outbox rows
  and finished jobs after ``RETENTION``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.ai import service as ai
from rapport.chat import service as chat
from rapport.events.publish import emit
from rapport.events.schemas import DomainEvent
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.profiles import service as profiles
from rapport.workflows import service
from rapport.workflows.dispatcher import Dispatcher
from rapport.workflows.models import Job
from rapport.workflows.scheduler import Scheduler, schedule

if TYPE_CHECKING:
    from rapport.runtime import Runtime

RETENTION = timedelta(days=7)
CLEANUP_EVERY_S = 3600.0

FOLLOWUP_TEXT = {
    "en": ("Say hello to {name}", "You matched a day ago — a first message goes a long way."),
    "zh-CN": ("和{name}打个招呼吧", "你们已经配对一天了，第一句话往往最重要。"),
}


def schedule_followup(settings_delay_s: int) -> Any:
    """In-transaction handler for ``match.created``: the follow-up job commits with the match."""

    def add(session: AsyncSession, event: DomainEvent) -> None:
        session.add(
            Job(
                kind="match.followup",
                run_at=clock.now() + timedelta(seconds=settings_delay_s),
                payload={
                    "match_id": event.data["match_id"],
                    "conversation_id": event.data["conversation_id"],
                    "user_ids": event.data["user_ids"],
                },
                dedupe_key=f"followup:{event.data['match_id']}",
            )
        )

    return add


async def followup(rt: Runtime, payload: dict[str, Any]) -> None:
    """Remind both people of a silent new match (idempotent: one reminder per match)."""
    from rapport.notifications.service import notify

    conversation_id = uuid.UUID(payload["conversation_id"])
    async with transaction(rt.sessionmaker) as session:
        live, last_seq, members = await chat.first_message_state(session, conversation_id)
        if not live or last_seq > 0:
            return
        for user_id in members:
            peer = next((m for m in members if m != user_id), None)
            peer_profile = await profiles.profile_of(session, peer) if peer else None
            user = await accounts.get_user(session, user_id)
            title, body = FOLLOWUP_TEXT.get(user.locale if user else "en", FOLLOWUP_TEXT["en"])
            name = (peer_profile.display_name if peer_profile else None) or "your match"
            await notify(
                session,
                user_id,
                "reminder",
                title.format(name=name),
                body,
                {"conversation_id": str(conversation_id), "reason": "no_first_message"},
                collapse_key=f"followup:{conversation_id}",
            )


async def reminder(rt: Runtime, payload: dict[str, Any]) -> None:
    from rapport.notifications.service import notify

    async with transaction(rt.sessionmaker) as session:
        await notify(
            session,
            uuid.UUID(payload["user_id"]),
            "reminder",
            payload["title"],
            payload.get("body", ""),
            payload.get("data") or {},
            collapse_key=payload.get("collapse_key"),
        )


async def stall_scan(rt: Runtime, _payload: dict[str, Any]) -> None:
    s = rt.settings
    stall_after = timedelta(seconds=s.ai_stall_after_s)
    window = timedelta(seconds=max(s.ai_stall_check_s * 4, 3600))
    now = clock.now()
    async with transaction(rt.sessionmaker) as session:
        for conversation_id, last, members in await chat.quiet_conversations(
            session, stall_after, window
        ):
            await schedule(
                session,
                "conversation.stalled",
                now,
                {
                    "conversation_id": str(conversation_id),
                    "member_ids": [str(m) for m in members],
                    "last_sender_id": str(last.sender_id) if last.sender_id else None,
                    "last_message_at": last.created_at.isoformat(),
                    "quiet_for_s": int((now - last.created_at).total_seconds()),
                },
                dedupe_key=f"stalled:{conversation_id}:{last.seq}",
            )
    await ai.coach_stalled(rt.sessionmaker, rt.ai, stall_after, window)


async def stalled(rt: Runtime, payload: dict[str, Any]) -> None:
    async with transaction(rt.sessionmaker) as session:
        emit(session, "conversation.stalled", payload)


async def cleanup(rt: Runtime, _payload: dict[str, Any]) -> None:
    async with transaction(rt.sessionmaker) as session:
        await service.purge_older_than(session, clock.now() - RETENTION)


def build_scheduler(rt: Runtime) -> Scheduler:
    scheduler = Scheduler(rt)
    scheduler.handle("match.followup", followup)
    scheduler.handle("reminder", reminder)
    scheduler.handle("conversation.stalled", stalled)
    scheduler.every("conversations.stall_scan", rt.settings.ai_stall_check_s, stall_scan)
    scheduler.every("workflows.cleanup", CLEANUP_EVERY_S, cleanup)
    return scheduler


def install(rt: Runtime) -> None:
    """Hang workflows on a node: in-transaction job scheduling always; the dispatcher and
    scheduler loops too unless this node leaves them to ``rapport worker``."""
    rt.bus.subscribe_in_transaction(
        "match.created", schedule_followup(rt.settings.followup_after_s)
    )
    rt.dispatcher = Dispatcher(rt.sessionmaker, rt.settings, rt.outbox)
    rt.scheduler = build_scheduler(rt)
    if rt.settings.workers_in_process:
        rt.spawn(rt.dispatcher.run())
        rt.spawn(rt.scheduler.run())
