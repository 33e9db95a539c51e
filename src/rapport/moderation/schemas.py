"""Payloads of the moderation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.kit.http import PROBLEM, Problem
from rapport.kit.validation import NonBlank

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


# -- refusals ---------------------------------------------------------------------------------


class Reason(BaseModel):
    category: str = Field(description="Filter category, e.g. abuse, sexual, contact")
    label: str = Field(description="Human label (English); clients localise by category")


class ModerationProblem(Problem):
    """``confirm_required`` (409: resend with ``confirm: true``) or ``content_blocked`` (422)."""

    reasons: list[Reason] = Field(default_factory=list)


def moderation_problems() -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a route whose text moderation may refuse."""
    schema = {"$ref": "#/components/schemas/ModerationProblem"}
    return {
        409: {
            "description": "confirm_required: 'Are you sure?' — resend with confirm: true",
            "model": ModerationProblem,
            "content": {PROBLEM: {"schema": schema}},
        },
        422: {
            "description": "validation_error, or content_blocked (with reasons)",
            "model": ModerationProblem,
            "content": {PROBLEM: {"schema": schema}},
        },
    }


# -- the user's own standing ------------------------------------------------------------------


class MyStanding(BaseModel):
    """Sanctions in force on the caller (a shadow-ban is never shown)."""

    level: Literal["warn", "rate_limit", "mute", "ban"] | None
    expires_at: datetime | None
    can_start_chats: bool
    trust_tier: Literal["new", "established", "verified"]


# -- the queue -------------------------------------------------------------------------------

ReportStatus = Literal["open", "in_review", "resolved"]


class ReportSummary(BaseModel):
    id: uuid.UUID
    reason: str
    status: str
    priority: int
    reporter_id: uuid.UUID | None = Field(description="None for automatic flags")
    reported_user_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    automatic: bool


class ReportDetail(ReportSummary):
    details: str
    message_ids: list[str]
    evidence: dict[str, Any]
    assigned_at: datetime | None
    resolved_by: uuid.UUID | None
    resolution_note: str | None


class ReportPage(BaseModel):
    reports: list[ReportSummary]
    next_before: datetime | None = Field(description="Pass as ?before= for the next page")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: uuid.UUID | None = Field(
        default=None, description="A moderator or admin; omitted = yourself"
    )
    unassign: bool = Field(default=False, description="Put the report back in the queue")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["confirmed", "dismissed"]
    note: str = Field(default="", max_length=2000)


# -- sanctions -------------------------------------------------------------------------------

SanctionLevel = Literal["warn", "rate_limit", "mute", "shadow_ban", "ban"]


class SanctionOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    level: str
    reason: str
    actor_id: uuid.UUID | None
    report_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    lifted_at: datetime | None
    lifted_by: uuid.UUID | None
    lift_reason: str | None
    active: bool


class Resolution(BaseModel):
    report: ReportDetail
    sanction: SanctionOut | None = Field(description="The automatic escalation, if any")


class SanctionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: SanctionLevel
    reason: Annotated[str, Field(min_length=1, max_length=2000), NonBlank]
    duration_s: int | None = Field(
        default=None, ge=60, le=10 * 365 * 86400, description="Omitted: the level's default"
    )
    report_id: uuid.UUID | None = None


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verified: bool


class VerificationOut(BaseModel):
    user_id: uuid.UUID
    verified_at: datetime | None


# -- word lists ------------------------------------------------------------------------------

ActionName = Literal["block", "nudge", "mask", "flag", "warn", "none"]
ListName = Literal[
    "abuse",
    "sexual",
    "violence",
    "scam",
    "minors",
    "contact",
    "self_harm",
    "money",
    "finance",
    "romance",
    "urgency",
    "allow",
]


class TermIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: ListName = Field(description="A category, or 'allow' for the allowlist")
    term: str = Field(min_length=2, max_length=200)
    enabled: bool = Field(
        default=True, description="false switches a term off (a shipped one included)"
    )


class TermOut(BaseModel):
    id: uuid.UUID
    category: str
    term: str
    enabled: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class TermPage(BaseModel):
    terms: list[TermOut]
    version: int


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ActionName | None = Field(description="null restores the shipped default")


class CategoryOut(BaseModel):
    category: str
    label: str
    label_zh: str
    action: str
    default_action: str
    terms: int = Field(description="Terms in force (shipped and added, minus switched off)")


class ListsOut(BaseModel):
    version: int = Field(description="Every edit increments it; nodes reload when it moves")
    categories: list[CategoryOut]
    allow: int
    patterns: int


class ScreenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    position: int = Field(
        default=0, ge=0, description="Messages already in the conversation (contact policy)"
    )


class ScreenHit(BaseModel):
    category: str
    kind: str
    view: str


class ScreenOut(BaseModel):
    """What the filter would do to a message (nothing is stored)."""

    outcome: Literal["deliver", "content_blocked", "confirm_required"]
    actions: dict[str, str]
    hits: list[ScreenHit]
    body: str = Field(description="The text as it would be delivered (masked)")
    flags: list[str] = Field(description="The assistant's warning flags for the same text")


class RiskOut(BaseModel):
    conversation_id: uuid.UUID
    score: int
    signals: dict[str, Any]
    flagged_at: datetime | None
    report_id: uuid.UUID | None
    updated_at: datetime | None
