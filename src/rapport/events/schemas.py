"""Domain event envelope: versioned, with id, type, occurred_at and data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from rapport.kit import clock
from rapport.kit.ids import new_id


class DomainEvent(BaseModel):
    """What every domain event looks like on the bus and (later) on webhooks."""

    id: uuid.UUID = Field(default_factory=new_id)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=clock.now)
    data: dict[str, Any]
