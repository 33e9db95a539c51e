"""In-process domain event bus. Handlers run after commit, off the caller's critical path."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.schemas import DomainEvent

Handler = Callable[[DomainEvent], Awaitable[None]]
# Runs inside the emitting transaction (adds rows that must commit with the change, such as a
# scheduled job); must be quick and must not await.
TxHandler = Callable[[AsyncSession, DomainEvent], None]
log = structlog.get_logger(__name__)


class EventBus:
    """Fan a published event out to every handler subscribed to its type (or to ``*``)."""

    def __init__(self, handler_timeout_s: float = 30.0) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._tx_handlers: dict[str, list[TxHandler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()
        self._timeout = handler_timeout_s

    def subscribe(self, event_type: str, handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def subscribe_in_transaction(self, event_type: str, handler: TxHandler) -> None:
        self._tx_handlers[event_type].append(handler)

    def within(self, session: AsyncSession, event: DomainEvent) -> None:
        """Run the in-transaction handlers of ``event`` (called by ``emit``)."""
        for handler in self._tx_handlers.get(event.type, ()):
            handler(session, event)

    def publish(self, event: DomainEvent) -> None:
        """Schedule every matching handler; never blocks and never raises into the caller."""
        for handler in [*self._handlers.get(event.type, ()), *self._handlers.get("*", ())]:
            task = asyncio.get_running_loop().create_task(self._run(handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: DomainEvent) -> None:
        try:
            async with asyncio.timeout(self._timeout):  # no extra task, unlike wait_for
                await handler(event)
        except Exception:
            log.exception("event_handler_failed", event_type=event.type, event_id=str(event.id))

    async def drain(self) -> None:
        """Wait for in-flight handlers (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
