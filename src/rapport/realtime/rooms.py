"""python-socketio client managers that know each socket's rooms.

python-socketio 5.x finds the rooms of a socket that leaves by copying and scanning every room
of the namespace (``BaseManager.basic_disconnect``). Every socket has a room of its own, so a
node with N sockets pays O(N) per disconnect and O(N²) when many leave together (a network
blip, a deploy, the benchmark's 5,000 idle sockets): closing 5,000 of 6,000 sockets held the
event loop for seconds. These managers keep each socket's rooms in an index beside the room
table and leave exactly those, so a disconnect costs what the socket joined.

The rest of ``basic_disconnect`` (callbacks, pending connects and disconnects) is the
library's, copied from python-socketio 5.18.1 (pinned); ``tests/realtime/test_rooms.py``
compares the managers' state with the stock manager's under random operations.
"""

from __future__ import annotations

from typing import Any

import socketio


class IndexedRooms:
    """Mixin for a python-socketio manager: ``(namespace, sid) -> rooms`` kept in step with
    the room table by the two methods that change it."""

    rooms: dict[Any, dict[Any, Any]]
    callbacks: dict[Any, Any]
    pending_connect: dict[Any, list[Any]]
    pending_disconnect: dict[Any, list[Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._joined: dict[tuple[Any, Any], set[Any]] = {}

    def basic_enter_room(self, sid: Any, namespace: Any, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid)  # type: ignore[misc]
        self._joined.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: Any, namespace: Any, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        joined = self._joined.get((namespace, sid))
        if joined is not None:
            joined.discard(room)
            if not joined:
                del self._joined[(namespace, sid)]

    def basic_disconnect(self, sid: Any, namespace: Any, **kwargs: Any) -> None:
        joined = self._joined.pop((namespace, sid), set())
        if namespace not in self.rooms:
            return
        for room in joined:
            super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        # The library's own bookkeeping after the rooms (python-socketio 5.18.1).
        if sid in self.callbacks:
            del self.callbacks[sid]
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if len(pending[namespace]) == 0:
                    del pending[namespace]


class IndexedAsyncManager(IndexedRooms, socketio.AsyncManager):  # type: ignore[misc]
    """The single-node manager."""


class IndexedAsyncRedisManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    """The cluster manager: emits cross nodes through Redis; rooms are per node as before."""
