"""Writing public events into the outbox, in the transaction that made the change.

``emit()`` calls :func:`record` for every public type (events/catalog.py). Rows are
collected on the session and inserted with one statement just before the commit, so a busy
send path pays one multi-row INSERT per transaction, not one per event. When no webhook
subscription wants a type, nothing is written for it (the :class:`OutboxGate` on the
session factory knows which types are wanted; without a gate every public event is kept).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.catalog import CATALOG, envelope
from rapport.events.models import OutboxEvent
from rapport.events.schemas import DomainEvent
from rapport.kit.db import after_commit, before_commit


class OutboxGate:
    """Which public event types some subscription wants (refreshed by the dispatcher), and a
    wake-up for the local dispatcher when new rows commit."""

    def __init__(self, wanted: set[str] | None = None) -> None:
        self.wanted: set[str] | None = wanted
        self.pending = asyncio.Event()

    def wants(self, event_type: str) -> bool:
        return self.wanted is None or event_type in self.wanted


def record(session: AsyncSession, event: DomainEvent) -> None:
    """Queue ``event`` for the outbox if it is public and wanted; written before commit."""
    kind = CATALOG.get(event.type)
    gate: OutboxGate | None = session.info.get("outbox")
    if kind is None or (gate is not None and not gate.wants(event.type)):
        return
    row = {
        "event_id": event.id,
        "type": event.type,
        "order_key": kind.order_key(event.data)[:64],
        "subjects": kind.subjects(event.data),
        "body": envelope(event),
        "created_at": event.occurred_at,
        "dispatched_at": None,
    }
    rows: list[dict[str, Any]] | None = session.info.get("outbox_rows")
    if rows is None:
        rows = session.info["outbox_rows"] = []
        before_commit(session, "outbox", _write)
        if gate is not None:
            after_commit(session, gate.pending.set)
    rows.append(row)


async def _write(session: AsyncSession) -> None:
    rows: list[dict[str, Any]] = session.info.pop("outbox_rows", [])
    if rows:
        await session.execute(insert(OutboxEvent), rows)
