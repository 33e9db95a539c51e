"""Routing of each AI capability to a provider, with timeout and fallback to local.

Any failure or invalid output of a remote provider is counted (metric and log) and answered by
the local provider instead; users never see a provider error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from prometheus_client import Counter, Histogram

from rapport.ai.providers.base import Provider
from rapport.ai.providers.local import LocalProvider

T = TypeVar("T")
CAPABILITIES = ("analysis", "replies", "icebreaker", "enhance", "health")
log = structlog.get_logger(__name__)

FALLBACKS = Counter(
    "rapport_ai_fallbacks_total",
    "Remote AI calls answered by the local provider instead",
    ["capability", "provider", "reason"],
)
LATENCY = Histogram(
    "rapport_ai_call_seconds",
    "AI capability latency by provider",
    ["capability", "provider"],
    buckets=(0.001, 0.005, 0.02, 0.1, 0.5, 1, 2, 5, 10),
)


class AIRouter:
    """capability -> provider, e.g. icebreaker=dify, replies=openai, analysis=local."""

    def __init__(
        self,
        routes: dict[str, Provider],
        local: LocalProvider | None = None,
        timeout_s: float = 8.0,
    ) -> None:
        self.local = local or LocalProvider()
        self.routes = routes
        self.timeout_s = timeout_s

    def provider_for(self, capability: str, *, remote_allowed: bool = True) -> Provider:
        provider = self.routes.get(capability)
        return provider if provider is not None and remote_allowed else self.local

    async def call(
        self,
        capability: str,
        fn: Callable[[Provider], Awaitable[T]],
        *,
        remote_allowed: bool = True,
    ) -> tuple[T, str]:
        """Run ``fn`` on the capability's provider; on any failure, on the local one."""
        provider = self.provider_for(capability, remote_allowed=remote_allowed)
        if provider is not self.local:
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(fn(provider), self.timeout_s)
            except Exception as exc:  # every remote failure falls back, by design
                reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
                FALLBACKS.labels(capability, provider.name, reason).inc()
                log.warning(
                    "ai_fallback",
                    capability=capability,
                    provider=provider.name,
                    reason=reason,
                    error=str(exc)[:200],
                )
            else:
                LATENCY.labels(capability, provider.name).observe(time.perf_counter() - started)
                return result, provider.name
        started = time.perf_counter()
        result = await fn(self.local)
        LATENCY.labels(capability, "local").observe(time.perf_counter() - started)
        return result, "local"

    async def aclose(self) -> None:
        for provider in {id(p): p for p in self.routes.values()}.values():
            await provider.aclose()
