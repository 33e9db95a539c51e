"""Notification work hung on domain events (after commit, never on the delivery path).

Message and match events become inbox entries for the people concerned; every
``notification.created`` becomes a Web Push to each device of a user without a live socket.
Database work is bounded (a few transactions at once) and serialised per user, so a burst
for one person collapses into one entry in order.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.schemas import DomainEvent
from rapport.kit.db import transaction
from rapport.notifications import service, triggers
from rapport.notifications.push import PushSender, keys_from, payload

if TYPE_CHECKING:
    from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
DB_SLOTS = 4
STRIPES = 64
URGENT = ("message", "match")


class Notifier:
    """One node's notification worker: event handlers plus the push sender."""

    def __init__(self, rt: Runtime, sender: PushSender | None, db_slots: int = DB_SLOTS) -> None:
        self.rt = rt
        self.sender = sender
        self._db = asyncio.Semaphore(db_slots)
        self._locks = [asyncio.Lock() for _ in range(STRIPES)]

    @asynccontextmanager
    async def _unit(self, user: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        lock = self._locks[user.int % STRIPES] if user is not None else asyncio.Lock()
        async with lock, self._db, transaction(self.rt.sessionmaker) as session:
            yield session

    async def _for(
        self, user: uuid.UUID, what: str, work: Callable[[AsyncSession], Awaitable[object]]
    ) -> None:
        try:
            async with self._unit(user) as session:
                await work(session)
        except Exception:
            log.exception("notify_failed", what=what, user_id=str(user))

    def someone_away(self, event: DomainEvent) -> bool:
        """Inline filter for :meth:`on_message`: is a recipient other than the sender without a
        socket on this node? (Most messages reach people who are connected right here; those
        need no task and no presence look-up at all.)"""
        sender = event.data["message"].get("sender_id")
        return any(
            raw != sender and not self.rt.presence.here(uuid.UUID(raw))
            for raw in event.data["recipients"]
        )

    async def on_message(self, event: DomainEvent) -> None:
        message = event.data["message"]
        for raw in event.data["recipients"]:
            if raw == message.get("sender_id"):
                continue
            user = uuid.UUID(raw)
            if await self.rt.presence.is_online(user):
                continue  # the socket delivers the message itself
            work = partial(triggers.notify_message, recipient=user, message=message)
            await self._for(user, "message", work)

    async def on_match(self, event: DomainEvent) -> None:
        users = [uuid.UUID(u) for u in event.data["user_ids"]]
        match_id = uuid.UUID(event.data["match_id"])
        conversation = uuid.UUID(event.data["conversation_id"])
        for user in users:
            for peer in (p for p in users if p != user):
                work = partial(
                    triggers.notify_match,
                    user_id=user,
                    peer_id=peer,
                    match_id=match_id,
                    conversation_id=conversation,
                )
                await self._for(user, "match", work)

    async def on_closed(self, event: DomainEvent) -> None:
        users = [uuid.UUID(u) for u in event.data["recipients"]]
        conversation = uuid.UUID(event.data["conversation_id"])
        async with self._unit() as session:
            await triggers.conversation_closed(session, conversation, users)

    async def on_created(self, event: DomainEvent) -> None:
        """Push a new notification to the devices of a user who has no live socket."""
        if self.sender is None or not event.data.get("push"):
            return
        user = uuid.UUID(event.data["recipients"][0])
        if await self.rt.presence.is_online(user):
            return
        async with self._unit() as session:
            targets = await service.push_targets(session, user)
        if not targets:
            return
        note = event.data["notification"]
        body = payload(note)
        urgency = "high" if note["kind"] in URGENT else "normal"
        context = {"notification_id": note["id"], "kind": note["kind"]}
        sender = self.sender
        results = await asyncio.gather(
            *(
                sender.send(
                    t, body, topic=event.data.get("topic"), urgency=urgency, log_ctx=context
                )
                for t in targets
            )
        )
        async with self._unit() as session:
            await service.record_push_results(session, list(results))


def install(rt: Runtime, *, db_slots: int = DB_SLOTS) -> Notifier:
    """Subscribe notifications to domain events (any process that commits events may call it:
    the API node, and a worker that runs the scheduler)."""
    keys = keys_from(rt.settings)
    notifier = Notifier(rt, PushSender(keys, rt.settings) if keys else None, db_slots)
    rt.bus.subscribe("message.created", notifier.on_message, when=notifier.someone_away)
    rt.bus.subscribe("match.created", notifier.on_match)
    rt.bus.subscribe("conversation.closed", notifier.on_closed)
    rt.bus.subscribe("notification.created", notifier.on_created)
    if notifier.sender is not None:
        rt.spawn(_close_on_shutdown(notifier.sender))
    if keys is None:
        log.info("web_push_off", reason="RAPPORT_VAPID_PRIVATE_KEY is empty")
    return notifier


async def _close_on_shutdown(sender: PushSender) -> None:
    try:
        await asyncio.Event().wait()  # until the runtime cancels its background tasks
    finally:
        sender.close()
