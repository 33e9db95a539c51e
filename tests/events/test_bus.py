from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from rapport.events.bus import EventBus
from rapport.events.schemas import DomainEvent


def _event(kind: str = "message.created") -> DomainEvent:
    return DomainEvent(type=kind, data={"n": 1})


async def test_quick_handlers_run_inline_and_a_failure_stops_no_one() -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("boom")

    async def slow(event: DomainEvent) -> None:
        seen.append("async")

    bus.subscribe_sync("message.created", broken)
    bus.subscribe_sync("message.created", lambda e: seen.append("sync"))
    bus.subscribe("message.created", slow)
    with capture_logs() as logs:
        bus.publish(_event())
        assert seen == ["sync"]  # before publish returned, without a task
        await bus.drain()
    assert seen == ["sync", "async"]
    failed = [e for e in logs if e["event"] == "event_handler_failed"]
    assert len(failed) == 1 and failed[0]["event_type"] == "message.created"


async def test_wildcard_handlers_see_every_type_and_others_only_theirs() -> None:
    bus = EventBus()
    got: list[tuple[str, str]] = []

    async def any_event(event: DomainEvent) -> None:
        got.append(("*", event.type))

    async def matches(event: DomainEvent) -> None:
        got.append(("match", event.type))

    bus.subscribe("*", any_event)
    bus.subscribe("match.created", matches)
    bus.publish(_event("message.created"))
    bus.publish(_event("match.created"))
    await bus.drain()
    assert sorted(got) == [
        ("*", "match.created"),
        ("*", "message.created"),
        ("match", "match.created"),
    ]


async def test_a_handler_failure_is_logged_and_the_bus_keeps_serving() -> None:
    bus = EventBus()
    done: list[int] = []

    async def fails(event: DomainEvent) -> None:
        raise ValueError("bad")

    async def works(event: DomainEvent) -> None:
        done.append(event.data["n"])

    bus.subscribe("message.created", fails)
    bus.subscribe("message.created", works)
    with capture_logs() as logs:
        bus.publish(_event())
        bus.publish(_event())
        await bus.drain()
    assert done == [1, 1]
    assert sum(e["event"] == "event_handler_failed" for e in logs) == 2


async def test_hung_handlers_are_cancelled_at_their_own_deadline() -> None:
    bus = EventBus(handler_timeout_s=0.2)
    finished: list[str] = []
    cancelled: list[str] = []

    async def hangs(event: DomainEvent) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(event.data["tag"])
            raise

    async def quick(event: DomainEvent) -> None:
        finished.append(event.data["tag"])

    bus.subscribe("x", hangs)
    bus.subscribe("x", quick)
    loop = asyncio.get_running_loop()
    with capture_logs() as logs:
        started = loop.time()
        bus.publish(DomainEvent(type="x", data={"tag": "first"}))
        await asyncio.sleep(0.1)
        bus.publish(DomainEvent(type="x", data={"tag": "second"}))
        await asyncio.sleep(0.15)  # 0.25 s: past the first deadline, not the second
        assert cancelled == ["first"]
        await asyncio.sleep(0.15)  # 0.4 s: past both
        assert cancelled == ["first", "second"]
        await bus.drain()
    assert loop.time() - started < 1
    assert finished == ["first", "second"]  # quick handlers were never cut short
    timed_out = [e for e in logs if e["event"] == "event_handler_timed_out"]
    assert [e["event_type"] for e in timed_out] == ["x", "x"]
    assert not bus._tasks  # nothing left behind


def test_a_plain_function_cannot_pass_for_a_coroutine_handler() -> None:
    with pytest.raises(TypeError, match="subscribe_sync"):
        EventBus().subscribe("x", lambda event: None)  # type: ignore[arg-type,return-value]


async def test_a_filtered_handler_gets_a_task_only_for_events_it_wants() -> None:
    bus = EventBus()
    got: list[int] = []

    async def handler(event: DomainEvent) -> None:
        got.append(event.data["n"])

    def broken(event: DomainEvent) -> bool:
        raise RuntimeError("filter bug")

    bus.subscribe("message.created", handler, when=lambda e: e.data["n"] % 2 == 0)
    bus.subscribe("match.created", handler, when=broken)
    for n in range(4):
        bus.publish(DomainEvent(type="message.created", data={"n": n}))
    assert len(bus._tasks) == 2  # an unwanted event starts no task at all
    with capture_logs() as logs:
        bus.publish(DomainEvent(type="match.created", data={"n": 9}))
    await bus.drain()
    # A filter that fails lets the handler run rather than lose its work, and is logged.
    assert got == [0, 2, 9]
    assert [e["event"] for e in logs] == ["event_filter_failed"]
