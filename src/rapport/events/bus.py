"""In-process domain event bus. Handlers run after commit, off the caller's critical path."""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.schemas import DomainEvent

Handler = Callable[[DomainEvent], Awaitable[None]]
# Called inline by publish: must be quick and must not block (e.g. put on a worker's queue).
SyncHandler = Callable[[DomainEvent], None]
# Runs inside the emitting transaction (adds rows that must commit with the change, such as a
# scheduled job); must be quick and must not await.
TxHandler = Callable[[AsyncSession, DomainEvent], None]
# Decides inline whether a coroutine handler has anything to do for an event (no I/O).
Predicate = Callable[[DomainEvent], bool]
log = structlog.get_logger(__name__)


class EventBus:
    """Fan a published event out to every handler subscribed to its type (or to ``*``).

    A coroutine handler runs in a task of its own and is cancelled (and logged) once it has run
    ``handler_timeout_s``. Deadlines are kept in one table swept by a single timer: a timeout
    scope per task cost as much as the task itself, and a sent message reaches several handlers.
    A plain function handler (``subscribe_sync``) is called inline, with no task at all, and a
    coroutine handler subscribed with ``when=`` gets a task only for the events it wants.
    """

    def __init__(self, handler_timeout_s: float = 30.0) -> None:
        self._handlers: dict[str, list[tuple[Handler, Predicate | None]]] = defaultdict(list)
        self._sync: dict[str, list[SyncHandler]] = defaultdict(list)
        self._tx_handlers: dict[str, list[TxHandler]] = defaultdict(list)
        # task -> (deadline on the loop's clock, event type, event id)
        self._tasks: dict[asyncio.Task[None], tuple[float, str, str]] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._timeout = handler_timeout_s

    def subscribe(
        self, event_type: str, handler: Handler, *, when: Predicate | None = None
    ) -> None:
        """Run ``handler`` in a task for each event of ``event_type`` (``*``: every event), or
        only for those ``when`` accepts; ``when`` is called inline and must be quick."""
        if not inspect.iscoroutinefunction(handler):
            raise TypeError(f"{handler!r} is not a coroutine function: use subscribe_sync")
        self._handlers[event_type].append((handler, when))

    def subscribe_sync(self, event_type: str, handler: SyncHandler) -> None:
        self._sync[event_type].append(handler)

    def subscribe_in_transaction(self, event_type: str, handler: TxHandler) -> None:
        self._tx_handlers[event_type].append(handler)

    def within(self, session: AsyncSession, event: DomainEvent) -> None:
        """Run the in-transaction handlers of ``event`` (called by ``emit``)."""
        for handler in self._tx_handlers.get(event.type, ()):
            handler(session, event)

    def publish(self, event: DomainEvent) -> None:
        """Run every matching handler; never blocks and never raises into the caller."""
        for quick in self._sync.get(event.type, ()):
            try:
                quick(event)
            except Exception:
                log.exception("event_handler_failed", event_type=event.type, event_id=str(event.id))
        handlers = self._handlers.get(event.type, ())
        if "*" in self._handlers:
            handlers = [*handlers, *self._handlers["*"]]
        if not handlers:
            return
        loop = asyncio.get_running_loop()
        deadline = (loop.time() + self._timeout, event.type, str(event.id))
        for handler, when in handlers:
            if when is not None and not self._wanted(when, event):
                continue
            task = loop.create_task(self._run(handler, event))
            self._tasks[task] = deadline
            task.add_done_callback(self._finished)
        if self._tasks and self._sweep is None:
            self._sweep = loop.call_at(deadline[0], self._expire)

    @staticmethod
    def _wanted(when: Predicate, event: DomainEvent) -> bool:
        try:
            return when(event)
        except Exception:
            # A broken filter must not lose the handler's work: run it and let it decide.
            log.exception("event_filter_failed", event_type=event.type, event_id=str(event.id))
            return True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    def _expire(self) -> None:
        """Cancel handlers past their deadline; re-arm for the next one still running."""
        self._sweep = None
        if not self._tasks:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, (deadline, event_type, event_id) in list(self._tasks.items()):
            if task.done():
                self._tasks.pop(task, None)
            elif deadline <= now:
                log.error(
                    "event_handler_timed_out",
                    event_type=event_type,
                    event_id=event_id,
                    timeout_s=self._timeout,
                )
                task.cancel()
                self._tasks.pop(task, None)
        if self._tasks:
            self._sweep = loop.call_at(min(d for d, _, _ in self._tasks.values()), self._expire)

    async def _run(self, handler: Handler, event: DomainEvent) -> None:
        try:
            await handler(event)
        except Exception:
            log.exception("event_handler_failed", event_type=event.type, event_id=str(event.id))

    async def drain(self) -> None:
        """Wait for in-flight handlers (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
