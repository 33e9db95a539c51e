"""Group commit for sends: messages that arrive together are stored in one transaction.

Each message still gets its own savepoint, so one refusal (not a member, closed, bad reply)
rolls back only that message; the whole batch commits once, then every sender is acknowledged.
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
        outcomes: list[tuple[_Send, MessageOut | None, RapportError | None]] = []
        try:
            async with transaction(self._factory) as session:
                for item in batch:
                    try:
                        # send() runs in a savepoint of its own: a refusal leaves the batch clean.
                        message, _ = await service.send(
                            session, item.sender, item.conversation_id, item.payload
                        )
                        outcomes.append((item, message, None))
                    except RapportError as exc:
                        outcomes.append((item, None, exc))
        except Exception as exc:
            log.exception("send_batch_failed", size=len(batch))
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(exc)
            return
        for item, stored, error in outcomes:
            if item.done.done():
                continue  # the sender gave up waiting; the message is stored all the same
            if error is not None:
                item.done.set_exception(error)
            else:
                assert stored is not None
                item.done.set_result(stored)
