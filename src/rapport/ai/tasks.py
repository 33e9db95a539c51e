"""Background AI work hung on domain events (after commit, never on the delivery path)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from rapport.ai import service
from rapport.events.schemas import DomainEvent

if TYPE_CHECKING:
    from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
# A batch is analysed and written without a pause on SQLite (statements run inline), so it is
# kept small: 16 local analyses and their write take a few milliseconds of the event loop.
BATCH = 16
LINGER_S = 0.1


class AnalysisQueue:
    """New messages wait here; one worker analyses them in batches (one write per batch)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.queue: asyncio.Queue[tuple[dict[str, Any], list[str]]] = asyncio.Queue(100_000)

    async def on_message(self, event: DomainEvent) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # overload: skip analysis, never delivery
            self.queue.put_nowait((event.data["message"], event.data["recipients"]))

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            # Analysis is not urgent: linger briefly so a batch shares one write.
            await asyncio.sleep(LINGER_S)
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await service.analyze_batch(self.rt.sessionmaker, self.rt.ai, batch)
            except Exception:
                log.exception("analysis_batch_failed", size=len(batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has been analysed."""
        await self.queue.join()


def install(rt: Runtime) -> None:
    """Subscribe the AI layer to domain events and start its worker."""
    analysis = AnalysisQueue(rt)
    rt.analysis = analysis

    async def match_created(event: DomainEvent) -> None:
        await service.icebreakers_for_match(
            rt.sessionmaker,
            rt.ai,
            uuid.UUID(event.data["conversation_id"]),
            [uuid.UUID(u) for u in event.data["user_ids"]],
        )

    rt.bus.subscribe("match.created", match_created)
    rt.bus.subscribe("message.created", analysis.on_message)
    rt.spawn(analysis.run())
    # Stalled conversations are found by the scheduler's stall scan (workflows/tasks.py).
