"""Small helpers shared by the notification tests."""

from __future__ import annotations

import uuid
from typing import Any

from rapport.kit.db import transaction
from rapport.notifications import service
from rapport.runtime import Runtime


async def notify(rt: Runtime, user_id: uuid.UUID, kind: str = "system", **kw: Any) -> str | None:
    """Call ``service.notify`` in a transaction of its own; the new entry's id (or None)."""
    title = kw.pop("title", "Hello")
    body = kw.pop("body", "Something happened.")
    data = kw.pop("data", None)
    async with transaction(rt.sessionmaker) as session:
        note = await service.notify(session, user_id, kind, title, body, data, **kw)
    await rt.bus.drain()
    return str(note.id) if note is not None else None
