"""Time comes from an injectable clock so jobs and expiry are testable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class Clock:
    """Wall clock in UTC. Tests swap in a :class:`FrozenClock`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)


clock: Clock = Clock()


def set_clock(new: Clock) -> Clock:
    """Install ``new`` as the process clock and return the previous one."""
    global clock
    previous, clock = clock, new
    return previous


def now() -> datetime:
    return clock.now()


def today() -> date:
    return clock.today()
