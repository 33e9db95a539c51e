"""What every AI provider offers. The local provider implements all capabilities offline;
remote providers (Dify, Coze, OpenAI-compatible) may implement any subset and raise
:class:`ProviderError` for anything they cannot do — the service then uses the local result."""

from __future__ import annotations

from typing import Protocol

from rapport.ai.schemas import (
    ConversationContext,
    ConversationHealth,
    Enhancement,
    Icebreaker,
    MessageAnalysis,
    ProfileBrief,
    ReplySuggestions,
)


class ProviderError(Exception):
    """A provider failed or returned something unusable. ``retryable`` marks transient errors
    (network, 5xx, rate limit with retry); configuration errors are not retried."""

    def __init__(self, message: str, *, code: str = "provider_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class Provider(Protocol):
    name: str

    async def analyze_message(
        self, text: str, context: ConversationContext | None
    ) -> MessageAnalysis: ...

    async def suggest_replies(self, context: ConversationContext) -> ReplySuggestions: ...

    async def icebreaker(self, a: ProfileBrief, b: ProfileBrief, context: str) -> Icebreaker: ...

    async def enhance_message(self, draft: str, context: ConversationContext) -> Enhancement: ...

    async def conversation_health(self, context: ConversationContext) -> ConversationHealth: ...

    async def aclose(self) -> None: ...
