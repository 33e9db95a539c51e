"""Durable jobs: a ``jobs`` table, at-least-once execution, idempotent handlers.

``schedule()`` adds a job in the caller's transaction, so a job exists exactly when the
change that asked for it committed. The :class:`Scheduler` claims due jobs under a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; any number of nodes or ``rapport worker``
processes may run it), runs each handler outside the claim, and marks it done — or retries
with backoff, up to ``max_attempts``, then ``failed``. A crash mid-job re-runs the job when
its lease ends, which is why every handler is idempotent. Time comes from
``rapport.kit.clock``, so tests drive it with a frozen clock.

Recurring work (stall scans, cleanup) is a job per time slot with a unique ``dedupe_key``
(``kind:slot``), so two nodes never run the same slot twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit import clock
from rapport.kit.db import insert_ignore, transaction
from rapport.kit.ids import new_id
from rapport.workflows import repository as repo
from rapport.workflows.models import Job

if TYPE_CHECKING:
    from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
JobHandler = Callable[["Runtime", dict[str, Any]], Awaitable[None]]
RUNS = Counter("rapport_jobs_total", "Scheduled job runs by kind and outcome", ["kind", "outcome"])
LEASE = timedelta(minutes=5)


async def schedule(
    session: AsyncSession,
    kind: str,
    run_at: datetime,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    max_attempts: int = 5,
) -> bool:
    """Schedule a job in this transaction, once per ``dedupe_key`` (ever); False when it
    already exists."""
    return await insert_ignore(
        session,
        Job,
        {
            "id": new_id(),
            "kind": kind,
            "payload": payload,
            "run_at": run_at,
            "dedupe_key": dedupe_key,
            "status": "pending",
            "attempts": 0,
            "max_attempts": max_attempts,
            "created_at": clock.now(),
        },
        ["dedupe_key"],
    )


class Scheduler:
    """Runs due jobs with the handlers registered for their kinds."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.handlers: dict[str, JobHandler] = {}
        self.recurring: dict[str, float] = {}
        self.wake = asyncio.Event()

    def handle(self, kind: str, handler: JobHandler) -> None:
        self.handlers[kind] = handler

    def every(self, kind: str, seconds: float, handler: JobHandler) -> None:
        """Run ``handler`` once per ``seconds``-long slot, across every node."""
        self.handlers[kind] = handler
        self.recurring[kind] = seconds

    async def ensure_recurring(self) -> None:
        now = clock.now()
        async with transaction(self.rt.sessionmaker) as session:
            for kind, seconds in self.recurring.items():
                slot = int(now.timestamp() // seconds)
                start = datetime.fromtimestamp(slot * seconds, tz=now.tzinfo)
                await schedule(session, kind, start, {}, dedupe_key=f"{kind}:{slot}")

    async def run_due(self, limit: int = 20) -> int:
        """Run every job due now (up to ``limit`` per claim); returns how many ran."""
        await self.ensure_recurring()
        ran = 0
        while True:
            now = clock.now()
            async with transaction(self.rt.sessionmaker) as session:
                claimed = await repo.claim_jobs(session, now, now + LEASE, limit)
                work = [(j.id, j.kind, dict(j.payload)) for j in claimed]
            if not work:
                return ran
            for job_id, kind, payload in work:
                await self._run_one(job_id, kind, payload)
                ran += 1

    async def _run_one(self, job_id: Any, kind: str, payload: dict[str, Any]) -> None:
        handler = self.handlers.get(kind)
        error: str | None = None
        if handler is None:
            error = f"no handler for job kind {kind!r}"
        else:
            try:
                await handler(self.rt, payload)
            except Exception:
                error = traceback.format_exc(limit=5)
                log.exception("job_failed", kind=kind, job_id=str(job_id))
        async with transaction(self.rt.sessionmaker) as session:
            job = await repo.job(session, job_id)
            if job is None:
                return
            now = clock.now()
            job.leased_until = None
            if error is None:
                job.status, job.finished_at, job.last_error = "done", now, None
                RUNS.labels(kind, "done").inc()
            elif job.attempts >= job.max_attempts:
                job.status, job.finished_at, job.last_error = "failed", now, error[-4000:]
                RUNS.labels(kind, "failed").inc()
            else:
                job.last_error = error[-4000:]
                job.run_at = now + timedelta(seconds=30 * 2 ** (job.attempts - 1))
                RUNS.labels(kind, "retry").inc()

    async def run(self) -> None:
        """Until cancelled: run due jobs, then sleep for the poll interval or a wake-up."""
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("scheduler_round_failed")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.rt.settings.scheduler_poll_s)
