"""Circuit breaker, retry with backoff and jitter, and the overall timeout."""

from __future__ import annotations

import asyncio

import pytest

from rapport.ai.providers.base import ProviderError
from rapport.ai.providers.resilience import (
    CircuitBreaker,
    RetryPolicy,
    retry_call,
    with_timeout,
)
from tests.ai import Sleeps


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def fail(code: str = "http_500", retryable: bool = True) -> None:
    raise ProviderError("boom", code=code, retryable=retryable)


async def ok() -> str:
    return "ok"


async def test_breaker_opens_after_consecutive_failures_then_half_opens() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=3, reset_timeout=30, clock=clock)
    for _ in range(2):
        with pytest.raises(ProviderError):
            await breaker.call(fail)
    assert breaker.state == "closed"
    with pytest.raises(ProviderError):
        await breaker.call(fail)
    assert breaker.state == "open"

    with pytest.raises(ProviderError) as rejected:
        await breaker.call(ok)
    assert rejected.value.code == "circuit_open"
    assert not rejected.value.retryable

    clock.now += 29.9
    assert breaker.state == "open"
    clock.now += 0.1
    assert breaker.state == "half_open"
    assert await breaker.call(ok) == "ok"
    assert breaker.state == "closed"


async def test_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker("p", failure_threshold=2, clock=Clock())
    with pytest.raises(ProviderError):
        await breaker.call(fail)
    await breaker.call(ok)
    with pytest.raises(ProviderError):
        await breaker.call(fail)
    assert breaker.state == "closed"


async def test_failed_trial_reopens_for_another_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=1, reset_timeout=10, clock=clock)
    with pytest.raises(ProviderError):
        await breaker.call(fail)
    clock.now += 10
    with pytest.raises(ProviderError) as trial:
        await breaker.call(fail)
    assert trial.value.code == "http_500"
    assert breaker.state == "open"
    clock.now += 9
    with pytest.raises(ProviderError, match="circuit open"):
        await breaker.call(ok)
    clock.now += 1
    assert await breaker.call(ok) == "ok"


async def test_half_open_lets_one_trial_through_at_a_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=1, reset_timeout=5, clock=clock)
    with pytest.raises(ProviderError):
        await breaker.call(fail)
    clock.now += 5
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "slow"

    trial = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(ProviderError, match="circuit open"):
        await breaker.call(ok)
    gate.set()
    assert await trial == "slow"
    assert breaker.state == "closed"


async def test_cancelled_trial_frees_the_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=1, reset_timeout=5, clock=clock)
    with pytest.raises(ProviderError):
        await breaker.call(fail)
    clock.now += 5
    trial = asyncio.create_task(breaker.call(asyncio.Event().wait))
    await asyncio.sleep(0)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert await breaker.call(ok) == "ok"


@pytest.mark.parametrize("code", ["unsupported", "circuit_open"])
async def test_neutral_outcomes_never_trip_the_breaker(code: str) -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, clock=Clock())
    for _ in range(3):
        with pytest.raises(ProviderError):
            await breaker.call(lambda: fail(code, retryable=False))
    assert breaker.state == "closed"


async def test_unexpected_exceptions_count_as_failures() -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, clock=Clock())

    async def broken() -> None:
        raise KeyError("data")

    with pytest.raises(KeyError):
        await breaker.call(broken)
    assert breaker.state == "open"


def test_breaker_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("p", failure_threshold=0)


async def test_retry_retries_only_retryable_errors_up_to_max_attempts() -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        await fail()

    sleeps = Sleeps()
    with pytest.raises(ProviderError):
        await retry_call(flaky, RetryPolicy(max_attempts=4), sleep=sleeps, rand=lambda: 0.5)
    assert calls == 4
    assert len(sleeps.calls) == 3

    calls = 0

    async def fatal() -> None:
        nonlocal calls
        calls += 1
        await fail("dify_unauthorized", retryable=False)

    with pytest.raises(ProviderError):
        await retry_call(fatal, RetryPolicy(max_attempts=4), sleep=sleeps)
    assert calls == 1


async def test_retry_returns_the_first_success() -> None:
    outcomes: list[ProviderError | str] = [ProviderError("x", retryable=True), "done"]

    async def step() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome

    assert await retry_call(step, RetryPolicy(max_attempts=3), sleep=Sleeps()) == "done"


async def test_retry_does_not_catch_other_exceptions() -> None:
    async def bug() -> None:
        raise TypeError("bug")

    with pytest.raises(TypeError):
        await retry_call(bug, RetryPolicy(max_attempts=3), sleep=Sleeps())


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert [policy.delay(n, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert [policy.delay(n, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.5]
    assert RetryPolicy(base_delay=1.0, jitter=0.0).delay(2, 0.123) == 2.0


async def test_retry_sleeps_the_backoff_between_attempts() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0)
    with pytest.raises(ProviderError):
        await retry_call(fail, policy, sleep=sleeps)
    assert sleeps.calls == [0.5, 1.0]


async def test_with_timeout_raises_a_retryable_provider_error() -> None:
    with pytest.raises(ProviderError) as info:
        await with_timeout(asyncio.sleep(5), 0.01, what="dify")
    assert info.value.code == "timeout"
    assert info.value.retryable
    assert "dify timed out" in str(info.value)
    assert await with_timeout(ok(), None, what="x") == "ok"
    assert await with_timeout(ok(), 1.0, what="x") == "ok"
