"""Resilience for remote AI providers: a per-provider circuit breaker, retries with exponential
backoff and jitter (only for ``ProviderError.retryable``), and an overall timeout.

Every failure surfaces as :class:`ProviderError`, so the AI service can fall back to the local
provider without knowing which of these gave up."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from rapport.ai.providers.base import ProviderError

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Outcomes that say nothing about the remote side's health: they neither trip nor reset a breaker.
NEUTRAL_CODES = frozenset({"unsupported", "circuit_open"})

_jitter = random.SystemRandom()


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → half-open once
    ``reset_timeout`` seconds have passed, letting one trial call through: its success closes
    the breaker, its failure opens it for another ``reset_timeout``."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            return BreakerState.HALF_OPEN
        return self._state

    def before_call(self) -> None:
        """Raise ``ProviderError(code="circuit_open")`` unless a call may go out now."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._state = BreakerState.HALF_OPEN
            self._trial_running = True
            return
        raise ProviderError(f"{self.name}: circuit open", code="circuit_open")

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_running = False

    def record_failure(self) -> None:
        self._trial_running = False
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()

    def release(self) -> None:
        """End a call whose outcome says nothing about health (cancelled, unsupported)."""
        self._trial_running = False

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        self.before_call()
        try:
            result = await fn()
        except ProviderError as exc:
            if exc.code in NEUTRAL_CODES:
                self.release()
            else:
                self.record_failure()
            raise
        except Exception:
            self.record_failure()
            raise
        except BaseException:  # cancellation: no verdict on the remote side
            self.release()
            raise
        self.record_success()
        return result


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` counts the first call. The n-th wait is ``base_delay * 2**(n-1)``
    capped at ``max_delay``, of which the fraction ``jitter`` is randomised."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float) -> float:
        capped = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return capped * (1 - self.jitter) + capped * self.jitter * rand


async def retry_call(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = _jitter.random,
) -> T:
    """Await ``fn()``, calling it again after a backoff while it raises a retryable
    :class:`ProviderError` and attempts remain. Anything else propagates at once."""
    policy = policy or RetryPolicy()
    attempt = 1
    while True:
        try:
            return await fn()
        except ProviderError as exc:
            if not exc.retryable or attempt >= policy.max_attempts:
                raise
        await sleep(policy.delay(attempt, rand()))
        attempt += 1


async def with_timeout(awaitable: Awaitable[T], seconds: float | None, *, what: str) -> T:
    """Bound ``awaitable`` to ``seconds`` (None: unbounded); expiry is a retryable
    ``ProviderError(code="timeout")``."""
    if seconds is None:
        return await awaitable
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError as exc:
        raise ProviderError(
            f"{what} timed out after {seconds:g}s", code="timeout", retryable=True
        ) from exc
