"""Garbage-collector tuning for long-running servers.

CPython's full collections walk every tracked object; with thousands of sockets that is a
stall of hundreds of milliseconds to a second that sets the latency tail. So:

- After start-up we collect once and freeze what exists (it is long-lived: modules, app,
  caches) so later collections skip it.
- The young generation is collected every 3,000 net allocations (CPython 3.11's default is 700).
  Each send leaves reference cycles behind (SQL expression objects, futures), and the time of a
  young collection grows with the garbage it frees: at 50,000 (tried before) each one freed some
  45,000 objects in a single 40–70 ms pause, which set the p99 of the benchmark; at 3,000 they
  stay under a few milliseconds. The middle generation is collected every 20 young collections
  (CPython: 10). At 5 its pauses were shorter, but objects reached the oldest generation sooner
  and full collections came more often: the benchmark's ratio fell from 0.70 to 0.20.
- Full collections are not left to the allocation counters, which start them in the middle of
  a burst of traffic (0.35–1 s with 1,000 sockets after 5,000 others had closed). The node runs
  them itself (:func:`collect_in_lulls`) by CPython's own rule, a quarter more objects in the
  oldest generation than the last full collection left there, but checked only in a lull (the
  process used under a fifth of a core for the last half second); and after 5 minutes without
  one, whatever the load, so cyclic garbage that reached the oldest generation (closed sockets,
  expired sessions) is still freed. The pause is the same; it falls where fewest messages wait
  on it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import structlog
from prometheus_client import Histogram

from rapport.kit.cpu import CpuShare

# The third threshold (middle collections before a full one is considered) is out of reach:
# full collections are started by collect_in_lulls.
THRESHOLDS = (3_000, 20, 1_000_000_000)
LULL_CPU = 0.2  # share of one core below which the process counts as idle
LULL_CHECK_S = 0.5
# CPython's rule for a full collection: the oldest generation grew by a quarter since the last
# one (and here by at least GROWTH_MIN_OBJECTS, so a small heap is not collected for nothing).
GROWTH = 0.25
GROWTH_MIN_OBJECTS = 10_000
FULL_MIN_INTERVAL_S = 10.0  # between two looks at the oldest generation (it costs a walk)
FULL_MAX_INTERVAL_S = 300.0  # whatever the load
SLOW_PAUSE_S = 0.05  # logged (WARNING) when longer: every socket of the node waited as long
log = structlog.get_logger(__name__)

PAUSE = Histogram(
    "rapport_gc_pause_seconds",
    "Garbage-collector pauses, by generation.",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
_started = [0.0]
_scheduled = [False]


def _measure(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        pause = time.perf_counter() - _started[0]
        PAUSE.labels(str(info["generation"])).observe(pause)
        if pause > SLOW_PAUSE_S and not _scheduled[0]:
            log.warning(
                "gc_pause",
                ms=round(pause * 1000, 1),
                generation=info["generation"],
                collected=info["collected"],
            )


def tune() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    if _measure not in gc.callbacks:
        gc.callbacks.append(_measure)


def collect_full(reason: str) -> None:
    """One full collection now (logged with its length and what it freed)."""
    _scheduled[0] = True
    started = time.perf_counter()
    try:
        freed = gc.collect()
    finally:
        _scheduled[0] = False
    log.info(
        "gc_full_collection",
        reason=reason,
        ms=round((time.perf_counter() - started) * 1000, 1),
        collected=freed,
    )


def _oldest() -> int:
    """Objects in the oldest generation (a walk of its list: 10-30 ms for a million)."""
    return len(gc.get_objects(generation=2))


async def collect_in_lulls(
    min_interval_s: float = FULL_MIN_INTERVAL_S,
    max_interval_s: float = FULL_MAX_INTERVAL_S,
    lull_cpu: float = LULL_CPU,
    growth: float = GROWTH,
    growth_min: int = GROWTH_MIN_OBJECTS,
    check_s: float = LULL_CHECK_S,
) -> None:
    """Run the full collections (the node spawns this next to :func:`tune`): in a lull, at most
    every ``min_interval_s``, look whether the oldest generation grew by ``growth`` (and
    ``growth_min`` objects) since the last one; after ``max_interval_s``, collect regardless of
    load if anything was promoted since."""
    last = looked = time.monotonic()
    left = _oldest()
    load = CpuShare()
    while True:
        await asyncio.sleep(check_s)
        busy = load.sample()
        now = time.monotonic()
        if now - last >= max_interval_s and gc.get_count()[2] > 0:
            collect_full("overdue")
        elif busy < lull_cpu and now - looked >= min_interval_s:
            looked = now
            if _oldest() - left < max(growth * left, growth_min):
                continue
            collect_full("lull")
        else:
            continue
        last = looked = time.monotonic()
        left = _oldest()
        load.restart()  # the collection's own time is no sign of traffic
