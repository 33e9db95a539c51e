"""python-socketio client managers that know each socket's rooms.

python-socketio 5.x finds the rooms of a socket that leaves by copying and scanning every room
of the namespace (``BaseManager.basic_disconnect``). Every socket has a room of its own, so a
node with N sockets pays O(N) per disconnect and O(N²) when many leave together (a network
blip, a deploy, the benchmark's 5,000 idle sockets): closing 5,000 of 6,000 sockets held the
event loop for seconds. These managers keep each socket's rooms in an index beside the room
table and leave exactly those, so a disconnect costs what the socket joined.

The rest of ``basic_disconnect`` (callbacks, pending connects and disconnects) is the
library's, copied from python-socketio 5.18.1 (pinned). The single-node manager also emits
without a task per recipient (see :class:`IndexedAsyncManager`). ``tests/realtime/test_rooms.py``
compares the managers' state, and the frames their emits hand to each socket, with the stock
manager's under random operations.
"""

from __future__ import annotations

from typing import Any

import socketio
import structlog
from engineio import packet as eio_packet
from socketio import packet

log = structlog.get_logger(__name__)


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
    """The single-node manager. Its emits without a callback hand the frame to each recipient
    socket's queue directly: the stock manager starts a task per recipient and waits on them
    all, which costs more than the queueing it wraps (a send to an Engine.IO websocket only
    puts the frame on that socket's unbounded queue). A socket that closed meanwhile is skipped
    as the stock manager skips it; emits with a callback stay the library's."""

    server: Any

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        if isinstance(data, tuple):
            data = list(data)  # a tuple is several arguments, as in the library
        elif data is not None:
            data = [data]
        else:
            data = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *data]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, p)
            for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            for frame in frames:
                try:
                    await self.server._send_eio_packet(eio_sid, frame)
                except Exception as exc:  # a socket closing under us; the others still get it
                    log.debug("emit_skipped", sid=sid, socket_event=event, error=repr(exc))
                    break


class IndexedAsyncRedisManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    """The cluster manager: emits cross nodes through Redis; rooms are per node as before."""
