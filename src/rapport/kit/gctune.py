"""Garbage-collector tuning for long-running servers.

CPython's full collections walk every tracked object; with thousands of sockets that is a
stall of hundreds of milliseconds that sets the latency tail. After start-up we collect once and
freeze what exists (it is long-lived: modules, app, caches) so later collections skip it.

The young generation is collected every 3,000 net allocations (CPython 3.11's default is 700).
Each send leaves reference cycles behind (SQL expression objects, futures), and the time of a
young collection grows with the garbage it frees: at 50,000 (tried before) each one freed some
45,000 objects in a single 40–70 ms pause, which set the p99 of the benchmark; at 3,000 they
stay under a few milliseconds. The middle generation is collected every 20 young collections
(CPython: 10). At 5 its pauses were shorter, but objects reached the oldest generation sooner
and full collections, which walk every live socket's objects (0.35–1 s with 1,000 sockets after
5,000 others closed), came more often: the benchmark's ratio fell from 0.70 to 0.20.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import structlog
from prometheus_client import Histogram

THRESHOLDS = (3_000, 20, 100)
SLOW_PAUSE_S = 0.05  # logged (WARNING) when longer: every socket of the node waited as long
log = structlog.get_logger(__name__)

PAUSE = Histogram(
    "rapport_gc_pause_seconds",
    "Garbage-collector pauses, by generation.",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
_started = [0.0]


def _measure(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        pause = time.perf_counter() - _started[0]
        PAUSE.labels(str(info["generation"])).observe(pause)
        if pause > SLOW_PAUSE_S:
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
