from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from structlog.testing import capture_logs

from rapport.kit import gctune


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    if gctune._measure in gc.callbacks:
        gc.callbacks.remove(gctune._measure)
    gc.unfreeze()


@pytest.fixture
def node_thresholds(restore_gc: None) -> None:
    """The node's set-up: what exists is frozen, the counters never start a full collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*gctune.THRESHOLDS)


async def _busy_for(seconds: float) -> None:
    """Keep the loop busy, as under traffic, for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        burn = time.process_time() + 0.02
        while time.process_time() < burn:
            pass
        await asyncio.sleep(0)


def _promote(times: int) -> None:
    for _ in range(times):
        gc.collect(1)  # each middle collection counts towards the next full one


@asynccontextmanager
async def _collector(**options: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """Run collect_in_lulls for the block; yields the (live) captured log."""
    with capture_logs() as logs:
        task = asyncio.create_task(gctune.collect_in_lulls(check_s=0.05, **options))
        await asyncio.sleep(0.01)  # it has taken its baseline
        try:
            yield logs
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _reasons(logs: list[dict[str, Any]]) -> list[str]:
    runs = [e for e in logs if e["event"] == "gc_full_collection"]
    assert all("ms" in e and "collected" in e for e in runs)
    return [e["reason"] for e in runs]


def test_tune_leaves_full_collections_to_the_node(restore_gc: None) -> None:
    gctune.tune()
    young, middle, full = gc.get_threshold()
    assert (young, middle) == gctune.THRESHOLDS[:2]
    assert full >= 10**9  # never reached by the allocation counters
    assert gctune._measure in gc.callbacks
    assert gc.get_freeze_count() > 0


def _grow_oldest(count: int) -> list[list[int]]:
    """``count`` new long-lived objects, promoted to the oldest generation."""
    kept: list[list[int]] = [[] for _ in range(count)]
    gc.collect(1)
    return kept


async def test_a_lull_gets_a_full_collection_a_busy_loop_does_not(node_thresholds: None) -> None:
    async with _collector(min_interval_s=0.1, max_interval_s=60, growth_min=5_000) as logs:
        kept = _grow_oldest(20_000)
        await _busy_for(0.6)  # grown, but never idle
        assert _reasons(logs) == []
        await asyncio.sleep(0.3)  # idle now
    assert _reasons(logs) == ["lull"]
    assert kept


async def test_a_lull_without_growth_is_left_alone(node_thresholds: None) -> None:
    async with _collector(min_interval_s=0.1, max_interval_s=60, growth_min=5_000) as logs:
        small = _grow_oldest(1_000)
        await asyncio.sleep(0.4)  # idle, but little reached the oldest generation
        assert _reasons(logs) == []
        kept = _grow_oldest(20_000)
        await asyncio.sleep(0.4)
    assert _reasons(logs) == ["lull"]
    assert small and kept


async def test_without_a_lull_the_collection_still_runs_when_overdue(
    node_thresholds: None,
) -> None:
    _promote(1)
    async with _collector(min_interval_s=0.1, max_interval_s=0.4) as logs:
        await _busy_for(0.7)
    assert _reasons(logs)[:1] == ["overdue"]
    assert "lull" not in _reasons(logs)


def test_scheduled_collections_are_not_reported_as_stray_pauses(
    restore_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    gctune.tune()
    monkeypatch.setattr(gctune, "SLOW_PAUSE_S", 0.0)  # every pause counts as long
    with capture_logs() as logs:
        gctune.collect_full("lull")
        gc.collect()  # a collection the node did not schedule
    assert _reasons(logs) == ["lull"]
    stray = [e for e in logs if e["event"] == "gc_pause" and e["generation"] == 2]
    assert len(stray) == 1
