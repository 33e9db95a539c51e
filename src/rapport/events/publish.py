"""The one path by which services raise domain events: queued on the session, sent after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events import outbox
from rapport.events.bus import EventBus
from rapport.events.schemas import DomainEvent
from rapport.kit.db import after_commit


def emit(session: AsyncSession, event_type: str, data: dict[str, Any]) -> DomainEvent:
    """Record ``event_type`` for publication once ``session``'s transaction commits; a public
    type (events/catalog.py) is also written to the outbox in this same transaction."""
    event = DomainEvent(type=event_type, data=data)
    outbox.record(session, event)
    bus: EventBus | None = session.info.get("bus")
    if bus is not None:
        bus.within(session, event)
        after_commit(session, lambda: bus.publish(event))
    return event
