"""Background AI work hung on domain events (after commit, never on the delivery path)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter

from rapport.ai import service
from rapport.events.schemas import DomainEvent
from rapport.kit.cpu import CpuShare

if TYPE_CHECKING:
    from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
# A batch is analysed and written without a pause on SQLite (statements run inline), so it is
# kept small: 16 local analyses and their write take a few milliseconds of the event loop.
BATCH = 16
LINGER_S = 0.1
MAX_LINGER_S = 1.0
BUSY = 0.5  # share of a core above which analysis steps back for delivery
BACKLOG = 10_000
SKIPPED = Counter(
    "rapport_ai_analysis_skipped_total",
    "Messages left unanalysed because the analysis backlog was full (sustained overload).",
)


class AnalysisQueue:
    """New messages wait here; one worker analyses them in batches (one write per batch).

    Analysis uses the node's spare time: it lingers between batches to gather a fuller one when
    little is waiting, and also while the process is busy (the rest of it used over ``BUSY`` of
    a core lately, sampled over at least 50 ms), so delivery keeps the CPU under load: the pause
    doubles while the node stays busy, from ``LINGER_S`` to ``MAX_LINGER_S``, so a saturated
    node analyses ``BATCH / MAX_LINGER_S`` messages a second and catches up once load drops.
    Once ``BACKLOG`` messages wait, new ones are skipped (``rapport_ai_analysis_skipped_total``):
    delivery never waits for analysis.
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.queue: asyncio.Queue[tuple[dict[str, Any], list[str]]] = asyncio.Queue(BACKLOG)
        self._load = CpuShare()  # analysis's own CPU time is excluded

    def on_message(self, event: DomainEvent) -> None:
        # Under sustained overload this runs for every message with the backlog full: a look
        # at the size costs less than a raised and caught QueueFull.
        if self.queue.full():
            SKIPPED.inc()
        else:
            self.queue.put_nowait((event.data["message"], event.data["recipients"]))

    async def run(self) -> None:
        pause = LINGER_S
        while True:
            batch = [await self.queue.get()]
            # Linger while a full batch is not waiting yet, or while delivery needs the CPU;
            # the longer the node stays busy, the longer the pause (up to MAX_LINGER_S).
            if self._load.sample(min_s=0.05) > BUSY:
                pause = min(pause * 2, MAX_LINGER_S)
                await asyncio.sleep(pause)
            else:
                pause = LINGER_S
                if self.queue.qsize() < BATCH - 1:
                    await asyncio.sleep(LINGER_S)
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                # Only the analyses' own CPU is left out of the load: the batch yields to the
                # loop between two messages, and the traffic served meanwhile is load. (Leaving
                # out the whole batch hid that traffic, so a node with a backlog judged itself
                # idle and analysed at full speed under load.)
                await service.analyze_batch(
                    self.rt.sessionmaker, self.rt.ai, batch, on_cpu=self._load.exclude
                )
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
    rt.bus.subscribe_sync("message.created", analysis.on_message)
    rt.spawn(analysis.run())
    # Stalled conversations are found by the scheduler's stall scan (workflows/tasks.py).
