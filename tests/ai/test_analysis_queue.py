"""The analysis worker's share of the node: spare time only, bounded backlog."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from rapport.ai import tasks as ai_tasks
from rapport.events.schemas import DomainEvent


def _event(n: int) -> DomainEvent:
    message = {"id": str(n), "kind": "text", "sender_id": "s", "body": f"hello {n}"}
    return DomainEvent(type="message.created", data={"message": message, "recipients": []})


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, int]]:
    """Analysis replaced by a recorder of (when, batch size)."""
    seen: list[tuple[float, int]] = []

    async def record(factory: Any, router: Any, items: list[Any], on_cpu: Any = None) -> list[Any]:
        seen.append((time.monotonic(), len(items)))
        return []

    monkeypatch.setattr(ai_tasks.service, "analyze_batch", record)
    monkeypatch.setattr(ai_tasks, "LINGER_S", 0.5)  # long enough to tell a linger apart
    return seen


def _queue() -> ai_tasks.AnalysisQueue:
    return ai_tasks.AnalysisQueue(SimpleNamespace(sessionmaker=None, ai=None))  # type: ignore[arg-type]


async def _work(queue: ai_tasks.AnalysisQueue, seconds: float) -> None:
    worker = asyncio.create_task(queue.run())
    await asyncio.sleep(seconds)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


async def _traffic(stop: asyncio.Event, burst_s: float) -> None:
    """Deliveries keeping the loop busy: bursts of CPU with a yield in between."""
    while not stop.is_set():
        _burn(burst_s)
        await asyncio.sleep(0)


async def test_a_backlog_on_an_idle_node_is_worked_off_back_to_back(
    batches: list[tuple[float, int]],
) -> None:
    queue = _queue()
    for n in range(4 * ai_tasks.BATCH):
        queue.on_message(_event(n))
    await _work(queue, 0.3)  # under one linger
    assert [size for _, size in batches] == [ai_tasks.BATCH] * 4
    assert queue.queue.empty()


async def test_a_lone_message_waits_to_share_a_batch(batches: list[tuple[float, int]]) -> None:
    queue = _queue()
    queue.on_message(_event(1))
    worker = asyncio.create_task(queue.run())
    await asyncio.sleep(0.2)
    assert batches == []  # still lingering for company
    queue.on_message(_event(2))
    await asyncio.sleep(0.6)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert [size for _, size in batches] == [2]


async def test_a_busy_node_keeps_its_cpu_for_delivery(batches: list[tuple[float, int]]) -> None:
    queue = _queue()
    for n in range(4 * ai_tasks.BATCH):
        queue.on_message(_event(n))
    stop = asyncio.Event()

    busy = asyncio.create_task(_traffic(stop, 0.02))
    await asyncio.sleep(0.2)  # the process has been busy before the worker looks
    await _work(queue, 1.2)
    stop.set()
    await busy
    # Every batch waited a linger: at most 2 in 1.2 s, where an idle node did all 4 at once.
    assert 1 <= len(batches) <= 2
    gaps = [b - a for (a, _), (b, _) in zip(batches, batches[1:], strict=False)]
    assert all(gap >= 0.45 for gap in gaps)


async def test_a_full_backlog_skips_and_counts_instead_of_growing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ai_tasks, "BACKLOG", 3)
    queue = _queue()
    before = ai_tasks.SKIPPED._value.get()
    for n in range(5):
        queue.on_message(_event(n))  # never raises into the publisher
    assert queue.queue.qsize() == 3
    assert ai_tasks.SKIPPED._value.get() - before == 2


async def test_the_pause_grows_while_the_node_stays_busy(
    batches: list[tuple[float, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under sustained load the worker backs off further each time, up to MAX_LINGER_S, and
    works back to back again once the load is gone."""
    monkeypatch.setattr(ai_tasks, "LINGER_S", 0.05)
    monkeypatch.setattr(ai_tasks, "MAX_LINGER_S", 0.4)
    queue = _queue()
    for n in range(12 * ai_tasks.BATCH):
        queue.on_message(_event(n))
    stop = asyncio.Event()

    busy = asyncio.create_task(_traffic(stop, 0.01))
    await asyncio.sleep(0.2)
    worker = asyncio.create_task(queue.run())
    await asyncio.sleep(1.6)
    stop.set()
    await busy
    under_load = len(batches)
    await asyncio.sleep(0.5)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    # Pauses of 0.1, 0.2, 0.4, 0.4 … s: at most 5 batches in 1.6 s (16 at the first pause).
    assert 2 <= under_load <= 5
    gaps = [
        b - a for (a, _), (b, _) in zip(batches[:under_load], batches[1:under_load], strict=False)
    ]
    assert gaps[-1] >= 0.35
    assert gaps[0] < gaps[-1]
    # Idle again: the rest of the backlog goes at once, without the long pause.
    assert len(batches) - under_load >= 3
    assert queue.queue.empty()


async def test_traffic_served_during_a_batch_counts_as_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch yields between two analyses and traffic runs in those gaps: that traffic is
    load, and only the analyses' own CPU is the worker's. (Counting the whole batch as its own
    made a node with a backlog look idle, so it analysed at full speed under load.)"""
    monkeypatch.setattr(ai_tasks, "LINGER_S", 0.05)
    monkeypatch.setattr(ai_tasks, "MAX_LINGER_S", 0.4)
    seen: list[float] = []

    async def analyse(factory: Any, router: Any, items: list[Any], on_cpu: Any = None) -> list[Any]:
        seen.append(time.monotonic())
        for _ in items:
            started = time.process_time()
            _burn(0.0005)
            on_cpu(time.process_time() - started)
            await asyncio.sleep(0)  # traffic runs here
        return []

    monkeypatch.setattr(ai_tasks.service, "analyze_batch", analyse)
    queue = _queue()
    for n in range(200 * ai_tasks.BATCH):
        queue.on_message(_event(n))
    stop = asyncio.Event()

    # The node is idle when the worker starts, so it works the backlog back to back; then
    # traffic arrives and keeps coming.
    worker = asyncio.create_task(queue.run())
    await asyncio.sleep(0.05)
    assert len(seen) >= 2
    busy = asyncio.create_task(_traffic(stop, 0.005))
    await asyncio.sleep(1.2)
    since = time.monotonic() - 1.0
    stop.set()
    await busy
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    # Back to back a batch takes about 16 × 5.5 ms under that traffic, some 11 a second;
    # backing off, pauses of 0.1 s and up leave room for 4 or fewer.
    under_load = [t for t in seen if t >= since]
    assert len(under_load) <= 4, len(under_load)
