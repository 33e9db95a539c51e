"""Group commit for sends: messages that arrive together are stored in one transaction.

Plain new messages of a batch are stored with a few statements in all (chat.service.send_batch);
a refusal (not a member, closed, bad reply) touches only its own message; the whole batch
commits once, then every sender is acknowledged.
Acks therefore still mean committed, and a lone message is never delayed: the worker takes
whatever is queued the moment the previous commit finishes (batch size 1 when idle).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rapport.chat import service
from rapport.chat.schemas import MessageOut, MessageSend
from rapport.kit.db import transaction
from rapport.kit.errors import RapportError

log = structlog.get_logger(__name__)


@dataclass
class _Send:
    sender: uuid.UUID
    conversation_id: uuid.UUID
    payload: MessageSend
    done: asyncio.Future[MessageOut]


class SendBatcher:
    """Queue of sends drained by one worker task, committing up to ``max_batch`` at a time."""

    def __init__(self, factory: async_sessionmaker[AsyncSession], max_batch: int = 128) -> None:
        self._factory = factory
        self._max = max_batch
        self._queue: asyncio.Queue[_Send] = asyncio.Queue()

    async def submit(
        self, sender: uuid.UUID, conversation_id: uuid.UUID, payload: MessageSend
    ) -> MessageOut:
        """Store one message (or find its earlier copy); returns once it is committed."""
        done: asyncio.Future[MessageOut] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Send(sender, conversation_id, payload, done))
        return await done

    async def run(self) -> None:
        """The worker loop (the node spawns it for its lifetime)."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)

    async def _commit(self, batch: list[_Send]) -> None:
        try:
            async with transaction(self._factory) as session:
                outcomes = await service.send_batch(
                    session, [(item.sender, item.conversation_id, item.payload) for item in batch]
                )
        except Exception as exc:
            log.exception("send_batch_failed", size=len(batch))
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(exc)
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            if item.done.done():
                continue  # the sender gave up waiting; the message is stored all the same
            if isinstance(outcome, RapportError):
                item.done.set_exception(outcome)
            else:
                item.done.set_result(outcome)
