"""Background work of moderation on each node (installed by the app's lifespan):

- reload the word lists when another node changed them (``RAPPORT_MODERATION_RELOAD_S``);
- lift sanctions whose time is up (each claimed by one node);
- after delivery, score conversation risk and spot copy-pasted openers (one worker, batches,
  never on the delivery path: under overload it skips, delivery never waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from rapport.chat import service as chat
from rapport.events.schemas import DomainEvent
from rapport.kit.db import transaction
from rapport.moderation import normalise, review, risk, sanctions

if TYPE_CHECKING:
    from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
BATCH = 32  # scored in one stretch of the event loop (SQLite runs inline): keep it short
EXPIRY_EVERY_S = 30.0


class RiskQueue:
    """Delivered messages wait here; one worker scores them in batches (one transaction)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(100_000)

    def on_message(self, event: DomainEvent) -> None:
        message = event.data["message"]
        if message.get("kind") != "text" or not message.get("sender_id"):
            return
        if event.data.get("shadowed"):
            return
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(event.data)

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.process(batch)
            except Exception:
                log.exception("risk_batch_failed", size=len(batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def drain(self) -> None:
        await self.queue.join()

    async def process(self, batch: list[dict[str, Any]]) -> None:
        rt = self.rt
        threshold = rt.settings.moderation_risk_threshold
        scanner = rt.moderation.lists.current.filter
        work = []
        for data in batch:
            message = data["message"]
            signals = risk.signals_of(scanner.scan(message["body"]).categories)
            if signals or data.get("first_from_sender"):
                work.append((message, signals, bool(data.get("first_from_sender"))))
        if not work:  # most messages: nothing to record, so no transaction at all
            return
        async with transaction(rt.sessionmaker) as session:
            for message, signals, first in work:
                sender = uuid.UUID(message["sender_id"])
                conversation_id = uuid.UUID(message["conversation_id"])
                if signals:
                    crossed = await risk.observe(
                        session, conversation_id, sender, signals, threshold
                    )
                    if crossed is not None:
                        lines = await chat.recent_lines(
                            session, conversation_id, risk.EVIDENCE_LINES
                        )
                        evidence = [m.model_dump(mode="json") for m in lines]
                        await risk.flag(session, crossed, sender, evidence)
                if first:
                    await self._copy_paste(session, message, sender)

    async def _copy_paste(self, session: Any, message: dict[str, Any], sender: uuid.UUID) -> None:
        """The same opener (normalised) sent as a first message to many matches."""
        s = self.rt.settings
        text = normalise.joined(normalise.fold(message["body"]))
        if len(text) < s.moderation_opener_min_chars:
            return  # "hi" and "你好" are everyone's opener
        fingerprint = hashlib.sha256(text.encode()).hexdigest()[:24]
        limiter, window = self.rt.moderation.limiter, s.moderation_opener_window_s
        over = await limiter.hit(
            f"opener:{sender}:{fingerprint}", s.moderation_opener_max_repeats, window
        )
        if over and not await limiter.hit(f"opener-flagged:{sender}:{fingerprint}", 1, window):
            await review.flag_for_review(
                session,
                sender,
                "auto:copy_paste_opener",
                f"The same first message went to more than {s.moderation_opener_max_repeats} "
                "conversations",
                [message],
                conversation_id=uuid.UUID(message["conversation_id"]),
            )


async def reload_loop(rt: Runtime) -> None:
    """Pick up word-list edits made on other nodes."""
    while True:
        await asyncio.sleep(rt.settings.moderation_reload_s)
        try:
            if await rt.moderation.lists.refresh_with(rt.sessionmaker):
                log.info("moderation_lists_reloaded", version=rt.moderation.lists.current.version)
        except Exception:
            log.exception("moderation_reload_failed")


async def expiry_loop(rt: Runtime) -> None:
    """Lift sanctions whose time is up (expired bans can sign in again)."""
    while True:
        await asyncio.sleep(EXPIRY_EVERY_S)
        try:
            async with transaction(rt.sessionmaker) as session:
                await sanctions.expire_due(session)
        except Exception:
            log.exception("sanction_expiry_failed")


def install(rt: Runtime) -> None:
    """Start moderation's background work on this node."""
    queue = RiskQueue(rt)
    rt.moderation.risk = queue
    rt.bus.subscribe_sync("message.created", queue.on_message)
    rt.spawn(queue.run())
    rt.spawn(reload_loop(rt))
    rt.spawn(expiry_loop(rt))
