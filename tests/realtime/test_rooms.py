"""The indexed client manager keeps exactly the state python-socketio's own manager keeps, and
its emits reach exactly the sockets the stock manager's reach.

Random sequences of what the server does to a manager (connect, enter and leave rooms, close
rooms, register ack callbacks, disconnect, emit to a room, to several or to everyone, skipping a
socket or not) are applied to both; after every step their room tables and pending lists must be
equal, the index must name exactly each socket's rooms, and an emit must have handed the same
frames to the same sockets.
"""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any

import socketio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rapport.realtime.rooms import IndexedAsyncManager

NAMESPACES = ["/", "/other"]
ROOMS = ["user:a", "user:b", "call:1"]


def _manager(cls: type[Any]) -> Any:
    manager = cls()
    ids = itertools.count()
    eio = SimpleNamespace(generate_id=lambda: f"s{next(ids)}")
    sent: list[tuple[str, Any]] = []

    async def send_eio_packet(eio_sid: str, pkt: Any) -> None:
        sent.append((eio_sid, pkt.encode()))

    manager.set_server(
        SimpleNamespace(
            eio=eio,
            packet_class=socketio.packet.Packet,
            _send_eio_packet=send_eio_packet,
            sent=sent,
        )
    )
    return manager


def _run(coro: Any) -> Any:
    """Drive one of the manager's coroutines (none of them awaits anything real)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the manager awaited something")


def _state(manager: Any) -> tuple[Any, ...]:
    rooms = {
        ns: {room: dict(members) for room, members in table.items()}
        for ns, table in manager.rooms.items()
    }
    return rooms, manager.pending_connect, manager.pending_disconnect, set(manager.callbacks)


class SameAsStock(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.stock = _manager(socketio.AsyncManager)
        self.indexed = _manager(IndexedAsyncManager)
        self.sockets: list[tuple[str, str]] = []  # (namespace, sid) connected now
        self.eio = itertools.count()
        # The stock manager's emit starts a task per recipient: it needs a running loop.
        self.loop = asyncio.new_event_loop()

    def teardown(self) -> None:
        self.loop.close()

    def _both(self, method: str, *args: Any) -> None:
        for manager in (self.stock, self.indexed):
            _run(getattr(manager, method)(*args))

    @rule(namespace=st.sampled_from(NAMESPACES), authenticate=st.booleans())
    def connect(self, namespace: str, authenticate: bool) -> None:
        eio_sid = f"e{next(self.eio)}"
        sids = {_run(m.pre_connect(eio_sid, namespace)) for m in (self.stock, self.indexed)}
        assert len(sids) == 1
        sid = sids.pop()
        if authenticate:
            self._both("connect", sid, namespace)
        self.sockets.append((namespace, sid))

    @precondition(lambda self: self.sockets)
    @rule(data=st.data(), room=st.sampled_from(ROOMS))
    def enter(self, data: st.DataObject, room: str) -> None:
        namespace, sid = data.draw(st.sampled_from(self.sockets))
        self._both("enter_room", sid, namespace, room)

    @precondition(lambda self: self.sockets)
    @rule(data=st.data(), room=st.sampled_from(ROOMS))
    def leave(self, data: st.DataObject, room: str) -> None:
        namespace, sid = data.draw(st.sampled_from(self.sockets))
        self._both("leave_room", sid, namespace, room)

    @rule(namespace=st.sampled_from(NAMESPACES), room=st.sampled_from(ROOMS))
    def close(self, namespace: str, room: str) -> None:
        self._both("close_room", room, namespace)

    @precondition(lambda self: self.sockets)
    @rule(data=st.data())
    def await_ack(self, data: st.DataObject) -> None:
        _, sid = data.draw(st.sampled_from(self.sockets))
        for manager in (self.stock, self.indexed):
            manager.callbacks.setdefault(sid, {})[1] = print

    @precondition(lambda self: self.sockets)
    @rule(data=st.data(), announce=st.booleans())
    def disconnect(self, data: st.DataObject, announce: bool) -> None:
        namespace, sid = data.draw(st.sampled_from(self.sockets))
        if announce:  # the server marks it first when its disconnect handler runs
            for manager in (self.stock, self.indexed):
                manager.pre_disconnect(sid, namespace)
        self._both("disconnect", sid, namespace)
        self.sockets.remove((namespace, sid))

    @rule(
        namespace=st.sampled_from(NAMESPACES),
        to=st.one_of(
            st.none(),  # everyone in the namespace
            st.sampled_from(ROOMS),
            st.lists(st.sampled_from(ROOMS), min_size=1, max_size=3),
        ),
        data=st.data(),
    )
    def emit(self, namespace: str, to: Any, data: st.DataObject) -> None:
        skip = data.draw(st.sampled_from([None, *(sid for _, sid in self.sockets)]))
        payload = data.draw(st.sampled_from([{"n": 1}, ("a", 2), None]))
        frames = []
        for manager in (self.stock, self.indexed):
            manager.server.sent.clear()
            self.loop.run_until_complete(
                manager.emit("ev", payload, namespace, room=to, skip_sid=skip)
            )
            frames.append(sorted(manager.server.sent))
        assert frames[0] == frames[1]

    @invariant()
    def same_state(self) -> None:
        assert _state(self.indexed) == _state(self.stock)
        index: dict[tuple[str, str], set[Any]] = {}
        for namespace, table in self.stock.rooms.items():
            for room, members in table.items():
                for sid in members:
                    index.setdefault((namespace, sid), set()).add(room)
        assert self.indexed._joined == index


SameAsStock.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, suppress_health_check=[HealthCheck.too_slow]
)
test_indexed_manager_matches_stock = SameAsStock.TestCase


async def test_an_emit_reaches_the_other_sockets_when_one_send_fails() -> None:
    manager = _manager(IndexedAsyncManager)
    sids = []
    for n in range(3):
        sid = await manager.connect(f"e{n}", "/")
        await manager.enter_room(sid, "/", "user:a")
        sids.append(sid)
    failing = manager.server._send_eio_packet

    async def send(eio_sid: str, pkt: Any) -> None:
        if eio_sid == "e1":
            raise RuntimeError("socket closed under us")
        await failing(eio_sid, pkt)

    manager.server._send_eio_packet = send
    await manager.emit("message:new", {"seq": 1}, "/", room="user:a")
    assert sorted(eio for eio, _ in manager.server.sent) == ["e0", "e2"]


async def test_an_emit_with_a_callback_stays_the_librarys() -> None:
    manager = _manager(IndexedAsyncManager)
    sid = await manager.connect("e0", "/")
    packets: list[Any] = []

    async def send_packet(eio_sid: str, pkt: Any) -> None:
        packets.append((eio_sid, pkt.id))

    manager.server._send_packet = send_packet
    await manager.emit("ask", {"q": 1}, "/", room=sid, callback=print)
    assert packets == [("e0", 1)] and manager.callbacks[sid][1] is print


def test_the_node_uses_the_indexed_managers() -> None:
    from fastapi import FastAPI

    from rapport.realtime.rooms import IndexedAsyncRedisManager
    from rapport.realtime.server import create_socket_server
    from tests.conftest import make_settings

    for redis_url, kind in (
        ("", IndexedAsyncManager),
        ("redis://127.0.0.1:1/0", IndexedAsyncRedisManager),
    ):
        app = FastAPI()
        app.state.settings = make_settings(redis_url=redis_url)
        app.state.on_runtime = []
        assert type(create_socket_server(app).manager) is kind
