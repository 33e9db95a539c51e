from __future__ import annotations

import time

from rapport.kit.cpu import CpuShare


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_busy_idle_and_excluded_time() -> None:
    load = CpuShare()
    _burn(0.1)
    assert load.sample() > 0.7  # all of a core
    time.sleep(0.1)
    assert load.sample() < 0.3  # idle since the last sample
    started = time.process_time()
    _burn(0.1)
    load.exclude(time.process_time() - started)  # the caller's own work does not count
    assert load.sample() < 0.3


def test_a_short_window_keeps_the_last_figure() -> None:
    load = CpuShare()
    _burn(0.06)
    busy = load.sample(min_s=0.05)
    assert busy > 0.7
    time.sleep(0.01)
    assert load.sample(min_s=0.05) == busy  # 10 ms says little: unchanged
    time.sleep(0.06)
    assert load.sample(min_s=0.05) < 0.3
