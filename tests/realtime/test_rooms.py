"""The indexed client manager keeps exactly the state python-socketio's own manager keeps.

Random sequences of what the server does to a manager (connect, enter and leave rooms, close
rooms, register ack callbacks, disconnect) are applied to both; after every step their room
tables and pending lists must be equal, and the index must name exactly each socket's rooms.
"""

from __future__ import annotations

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
    manager.set_server(SimpleNamespace(eio=eio, packet_class=socketio.packet.Packet))
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
