"""Payloads of the moderation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ReportReason = Literal[
    "harassment",
    "sexual_content",
    "scam",
    "spam",
    "fake_profile",
    "underage",
    "hate",
    "violence",
    "self_harm",
    "off_platform",
    "other",
]


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    reason: ReportReason
    details: str = Field(default="", max_length=2000)
    message_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    block: bool = Field(default=False, description="Also block the reported user")


class ReportReceipt(BaseModel):
    id: uuid.UUID
    status: Literal["open"]
    created_at: datetime
    blocked: bool
