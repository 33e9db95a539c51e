"""Event-loop lag: how late the node's loop runs a timer, and what held it when it is very late.

Everything a node does shares one event loop, so a callback that runs for 100 ms delays every
socket on the node by as much. ``watch`` ticks every ``interval`` seconds and records how late
each tick ran (``rapport_event_loop_lag_seconds``). With ``stall_ms`` set, a watchdog thread
also logs, once per stall, how long the loop was held and the main thread's stack taken while
it was: the stack names the code that held the loop.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

import structlog
from prometheus_client import Histogram

log = structlog.get_logger(__name__)

LAG = Histogram(
    "rapport_event_loop_lag_seconds",
    "How late the event loop ran a timer that was due.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


async def watch(interval: float = 0.05, stall_ms: int = 0) -> None:
    """Tick forever (the node spawns this); with ``stall_ms`` > 0 also run the watchdog."""
    state = {"tick": time.monotonic()}
    stop = threading.Event()
    if stall_ms > 0:
        main = threading.get_ident()
        threading.Thread(
            target=_watchdog, args=(state, main, interval, stall_ms / 1000, stop), daemon=True
        ).start()
    try:
        while True:
            before = time.monotonic()
            await asyncio.sleep(interval)
            now = time.monotonic()
            state["tick"] = now
            LAG.observe(max(0.0, now - before - interval))
    finally:
        stop.set()


def _watchdog(
    state: dict[str, float], main: int, interval: float, threshold: float, stop: threading.Event
) -> None:
    """Capture the main thread's stack once the loop is ``threshold`` late (the culprit is
    still running then); log it with the stall's full length once the loop ticks again."""
    held: tuple[float, str] | None = None  # (tick the stall started from, stack)
    while not stop.wait(threshold / 4):
        tick = state["tick"]
        if held is not None and tick != held[0]:
            stalled = tick - held[0] - interval
            log.warning("event_loop_stalled", stalled_ms=round(stalled * 1000), stack=held[1])
            held = None
        late = time.monotonic() - tick - interval  # the next tick was due at tick + interval
        if held is None and late >= threshold:
            frame = sys._current_frames().get(main)
            stack = "".join(traceback.format_stack(frame)[-25:]) if frame is not None else "?"
            held = (tick, stack)
