"""HTTP routes of the assistant, per conversation. No request transaction is held while a
provider works: the service opens short transactions of its own."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from rapport.accounts.deps import CurrentUser
from rapport.ai import service
from rapport.ai.schemas import ConversationHealth, Enhancement, Icebreaker, ReplySuggestions
from rapport.kit.db import transaction
from rapport.kit.http import STANDARD_PROBLEMS, RuntimeDep

router = APIRouter(
    prefix="/api/v1/conversations/{conversation_id}/ai", tags=["ai"], responses=STANDARD_PROBLEMS
)


class IcebreakerOut(BaseModel):
    icebreaker: Icebreaker | None


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    draft: str = Field(min_length=1, max_length=4000)


@router.get("/icebreaker")
async def get_icebreaker(
    conversation_id: uuid.UUID, me: CurrentUser, rt: RuntimeDep
) -> IcebreakerOut:
    """Opening lines and starters prepared for you when the match was made (null if none)."""
    async with transaction(rt.sessionmaker) as session:
        return IcebreakerOut(
            icebreaker=await service.stored_icebreaker(session, me.user_id, conversation_id)
        )


@router.post("/suggestions")
async def suggest(conversation_id: uuid.UUID, me: CurrentUser, rt: RuntimeDep) -> ReplySuggestions:
    """Three replies of different tone and topic ideas ("AI assist"). Sending one unchanged
    marks the message ``ai_assisted``."""
    return await service.suggestions(rt.sessionmaker, rt.ai, me.user_id, conversation_id)


@router.post("/enhance")
async def enhance(
    conversation_id: uuid.UUID, body: DraftIn, me: CurrentUser, rt: RuntimeDep
) -> Enhancement:
    """Polish a draft and check it before sending (emotion, warning flags, topic ideas)."""
    return await service.enhance(rt.sessionmaker, rt.ai, me.user_id, conversation_id, body.draft)


@router.get("/health")
async def health(conversation_id: uuid.UUID, me: CurrentUser, rt: RuntimeDep) -> ConversationHealth:
    """Reciprocity, depth, emotion trend, stage, and the suggested intervention."""
    return await service.health(rt.sessionmaker, rt.ai, me.user_id, conversation_id)
