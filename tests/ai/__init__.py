"""Shared fixtures-as-functions for the AI provider tests: a scripted ``httpx.MockTransport``
handler that records every request, chunked SSE responses, and conversation builders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from rapport.ai.schemas import ChatLine, ConversationContext, ProfileBrief

Step = httpx.Response | Exception | Callable[[httpx.Request], Any]


class Script:
    """An httpx handler that answers with the given steps in order (a Response, an exception
    to raise, or a callable taking the request) and records each request it saw."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.steps, f"unexpected extra request {request.method} {request.url}"
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        result = step(request)
        if not isinstance(result, httpx.Response):
            result = await result
        assert isinstance(result, httpx.Response)
        return result

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def sse_response(text: str, *, chunk: int = 7) -> httpx.Response:
    """A 200 ``text/event-stream`` response delivered in ``chunk``-byte pieces, so events,
    CRLFs and multi-byte characters get split across reads."""
    raw = text.encode()

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), chunk):
            yield raw[start : start + chunk]

    return httpx.Response(
        200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=body()
    )


async def no_sleep(_: float) -> None:
    return None


class Sleeps:
    """A fake ``asyncio.sleep`` that records the waits it was asked for."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def profile(ref: str, **fields: Any) -> ProfileBrief:
    return ProfileBrief(ref=ref, **fields)


def conversation(language: str | None = "en", **overrides: Any) -> ConversationContext:
    values: dict[str, Any] = {
        "me": profile("A", display_name="Lin", interests=["hiking"], languages=["en", "zh"]),
        "peer": profile("B", display_name="Sam", interests=["hiking", "film"], languages=["en"]),
        "lines": [
            ChatLine(speaker="B", text="Hi! Saw you hike too", at=1_700_000_000.0),
            ChatLine(speaker="A", text="Yes, mostly on weekends", at=1_700_000_060.0),
            ChatLine(speaker="B", text="Favourite trail?", at=1_700_000_120.0),
        ],
        "language": language,
    }
    values.update(overrides)
    return ConversationContext(**values)


# Valid outputs of each capability, as a model would write them.
ENHANCEMENT = {
    "enhanced_message": "Mostly the coastal trail - the sunrise there is unreal. Yours?",
    "topic_suggestions": ["sunrise hikes", "trail snacks", "weekend plans"],
    "emotion_analysis": {"sentiment": "positive", "confidence": 0.85},
    "warning_flags": [],
}
ICEBREAKER = {
    "opening_lines": ["Hi Sam! A fellow hiker - what's the best view you've earned?", "Hey!"],
    "shared_interests": ["hiking"],
    "conversation_starters": [{"question": "Sunrise or sunset hikes?", "topic": "hiking"}],
}
REPLIES = {
    "replies": [
        {"tone": "warm", "text": "The coastal trail - it's so calm early on."},
        {"tone": "playful", "text": "Whichever ends at a bakery 😄"},
        {"tone": "curious", "text": "Coastal! Which one would you recommend?"},
    ],
    "topics": ["trails", "weekends"],
    "language": "en",
}
ANALYSIS = {
    "sentiment": "positive",
    "score": 0.6,
    "confidence": 0.8,
    "emotions": ["curious"],
    "warning_flags": [],
    "topics": ["hiking"],
    "language": "en",
}
HEALTH = {
    "response_time_median_s": 60.0,
    "reciprocity": 0.9,
    "depth": 0.3,
    "emotion_trend": 0.1,
    "topic_diversity": 0.2,
    "stage": "getting_to_know",
    "intervention": "deepen",
}
