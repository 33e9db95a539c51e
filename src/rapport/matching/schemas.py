"""Payloads of discovery and matching."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from rapport.profiles.schemas import InterestLabel, PublicProfile


class Explanation(BaseModel):
    shared_interests: list[InterestLabel]
    parts: dict[str, float]
    summary_en: str
    summary_zh: str


class Candidate(BaseModel):
    profile: PublicProfile
    score: float
    explanation: Explanation


class DiscoverPage(BaseModel):
    candidates: list[Candidate]


class MatchOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    conversation_id: uuid.UUID | None
    peer: PublicProfile


class LikeResult(BaseModel):
    liked: bool
    matched: bool
    match: MatchOut | None = None


class PassResult(BaseModel):
    passed: bool


class Unmatched(BaseModel):
    id: uuid.UUID
    ended_at: datetime


class Blocked(BaseModel):
    blocked: bool
    user_id: uuid.UUID
