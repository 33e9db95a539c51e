"""The AI capabilities' inputs and outputs: one pydantic schema each, shared by every provider.

Remote providers are asked for exactly these JSON shapes; what they return is validated against
them, and anything invalid falls back to the local provider.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Sentiment = Literal["positive", "neutral", "negative"]
Language = Literal["zh", "en"]
WarningFlag = Literal[
    "harassment",
    "sexual",
    "scam",
    "money_request",
    "off_platform_contact",
    "self_harm",
    "minor_risk",
]
Tone = Literal["warm", "playful", "curious"]
Stage = Literal["opening", "getting_to_know", "building_rapport", "planning_to_meet", "cooling"]
Intervention = Literal[
    "none",
    "suggest_topics",
    "positive_topics",
    "deepen",
    "shared_interest_prompt",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


# ---- inputs --------------------------------------------------------------------------------


class ProfileBrief(Strict):
    """What the AI may know about a person: pseudonymous, never email, phone or location."""

    ref: str = Field(description="A pseudonymous handle, e.g. 'A' or 'B'")
    display_name: str = ""
    age: int | None = None
    interests: list[str] = Field(default_factory=list, description="Taxonomy tag ids")
    interest_labels: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    bio: str = ""


class ChatLine(Strict):
    speaker: str = Field(description="The ProfileBrief.ref of the sender")
    text: str
    at: float | None = Field(default=None, description="Unix seconds")


class ConversationContext(Strict):
    me: ProfileBrief
    peer: ProfileBrief
    lines: list[ChatLine] = Field(default_factory=list, description="Oldest first")
    language: Language | None = None


# ---- outputs -------------------------------------------------------------------------------


class MessageAnalysis(Strict):
    sentiment: Sentiment
    score: float = Field(ge=-1, le=1)
    confidence: float = Field(ge=0, le=1)
    emotions: list[str] = Field(default_factory=list)
    warning_flags: list[WarningFlag] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    language: Language


class Reply(Strict):
    tone: Tone
    text: str = Field(min_length=1, max_length=300)


class ReplySuggestions(Strict):
    replies: list[Reply] = Field(min_length=3, max_length=3)
    topics: list[str] = Field(default_factory=list, max_length=5)
    language: Language


class Starter(Strict):
    question: str = Field(min_length=1, max_length=300)
    topic: str


class Icebreaker(Strict):
    opening_lines: list[str] = Field(min_length=2, max_length=5)
    shared_interests: list[str] = Field(default_factory=list)
    conversation_starters: list[Starter] = Field(default_factory=list, max_length=5)


class EmotionBrief(Strict):
    sentiment: Sentiment
    confidence: float = Field(ge=0, le=1)


class Enhancement(Strict):
    enhanced_message: str = Field(min_length=1, max_length=4000)
    topic_suggestions: list[str] = Field(min_length=3, max_length=3)
    emotion_analysis: EmotionBrief
    warning_flags: list[WarningFlag] = Field(default_factory=list)


class ConversationHealth(Strict):
    response_time_median_s: float | None = Field(ge=0)
    reciprocity: float = Field(ge=0, le=1, description="1 = both write equally")
    depth: float = Field(ge=0, le=1, description="Share of substantive, personal messages")
    emotion_trend: float = Field(ge=-1, le=1, description="Recent minus earlier sentiment")
    topic_diversity: float = Field(ge=0, le=1)
    stage: Stage
    intervention: Intervention
