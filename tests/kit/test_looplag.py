from __future__ import annotations

import asyncio
import time

from structlog.testing import capture_logs

from rapport.kit import looplag


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # what a blocking call in a handler does to every socket


async def test_a_blocked_loop_is_measured_and_its_culprit_logged() -> None:
    before = looplag.LAG.collect()[0].samples
    count_before = next(s.value for s in before if s.name.endswith("_count"))
    with capture_logs() as logs:
        task = asyncio.create_task(looplag.watch(interval=0.01, stall_ms=50))
        await asyncio.sleep(0.05)
        _hold_the_loop(0.3)
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    stalls = [e for e in logs if e["event"] == "event_loop_stalled"]
    assert len(stalls) == 1  # one report per stall
    assert stalls[0]["stalled_ms"] >= 200
    assert "_hold_the_loop" in stalls[0]["stack"]
    samples = looplag.LAG.collect()[0].samples
    assert next(s.value for s in samples if s.name.endswith("_count")) > count_before
    slow = next(s.value for s in samples if s.name.endswith("_bucket") and s.labels["le"] == "0.25")
    total = next(s.value for s in samples if s.name.endswith("_count"))
    assert slow < total  # the 0.3 s tick is above the 0.25 s bucket


async def test_no_report_when_the_loop_keeps_up() -> None:
    with capture_logs() as logs:
        task = asyncio.create_task(looplag.watch(interval=0.01, stall_ms=50))
        for _ in range(20):
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not [e for e in logs if e["event"] == "event_loop_stalled"]
