"""Socket.IO transport: handshake auth, presence, revocation, and fan-out of domain events.

Thin like api.py: validate, call services inside a transaction, map errors to
``{ok: false, error: {code, message}}``. Identity lives only in the socket session. Every
socket joins ``user:<id>``; with Redis configured, python-socketio's AsyncRedisManager carries
emits between nodes, so a room reaches a user's sockets wherever they are connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import socketio
import structlog
from fastapi import FastAPI

from rapport.accounts import service as accounts
from rapport.ai.socket import AIHandlers
from rapport.chat.batcher import SendBatcher
from rapport.chat.socket import ChatHandlers
from rapport.events.schemas import DomainEvent
from rapport.kit.db import transaction
from rapport.kit.errors import RapportError
from rapport.matching import service as matching
from rapport.realtime.packets import OrjsonPacket
from rapport.realtime.rooms import IndexedAsyncManager, IndexedAsyncRedisManager
from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
MAX_FRAME = 64 * 1024

# Domain event -> (socket event, payload key or None for the whole data).
RELAYS: dict[str, tuple[str, str | None]] = {
    "message.created": ("message:new", "message"),
    "receipt.updated": ("receipt:update", "receipt"),
    "conversation.closed": ("conversation:closed", None),
    "ai.icebreaker": ("ai:icebreaker", "payload"),
    "safety.warning": ("safety:warning", "payload"),
    "ai.coach": ("ai:coach", "payload"),
    "moderation.notice": ("moderation:notice", "payload"),
    "notification.created": ("notification:new", "notification"),
    "ai.result": ("ai:result", "payload"),
}


def relayed(event: DomainEvent) -> tuple[str, Any]:
    """The socket event name and payload a relayed domain event becomes."""
    name, key = RELAYS[event.type]
    payload = event.data[key] if key else {k: v for k, v in event.data.items() if k != "recipients"}
    return name, payload


def recipient_rooms(event: DomainEvent) -> list[str]:
    """The ``user:<id>`` rooms of a relayed event's recipients. One emit to all of them encodes
    the frame once (and, clustered, publishes it once); a socket in several gets it once."""
    return [f"user:{user_id}" for user_id in event.data["recipients"]]


def install_external_relay(rt: Runtime) -> None:
    """For processes without sockets (``rapport worker``): relay the same events to the
    nodes' sockets through Redis with a write-only manager (python-socketio's external
    emitter). Without Redis a worker has no sockets to reach; run the workers in-process."""
    if not rt.settings.redis_url:
        return
    manager = socketio.AsyncRedisManager(rt.settings.redis_url, write_only=True)

    async def relay(event: DomainEvent) -> None:
        name, payload = relayed(event)
        rooms = recipient_rooms(event)
        if rooms:
            await manager.emit(name, payload, room=rooms, namespace="/")

    for event_type in RELAYS:
        rt.bus.subscribe(event_type, relay)


def refused(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    """CONNECT_ERROR with ``err.message`` = message and ``err.data`` = {code, message}."""
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


# Login sessions re-checked per query by the periodic re-check.
RECHECK_CHUNK = 200


class RealtimeNode:
    """One node's Socket.IO server and the sockets connected to it."""

    def __init__(self, app: FastAPI) -> None:
        settings = app.state.settings
        self.app = app
        manager = (
            IndexedAsyncRedisManager(settings.redis_url)
            if settings.redis_url
            else IndexedAsyncManager()
        )
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            serializer=OrjsonPacket,
            cors_allowed_origins=settings.cors_origins or None,
            max_http_buffer_size=MAX_FRAME,
            # Long-polling needs sticky sessions, so a cluster is websocket-only.
            transports=["websocket"] if settings.redis_url else ["polling", "websocket"],
        )
        self.local: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
        self._offline: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.chat = ChatHandlers(self)
        self.chat.register()
        AIHandlers(self).register()
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        app.state.on_runtime.append(self.start)

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    def start(self, rt: Runtime) -> None:
        for event_type in RELAYS:
            rt.bus.subscribe(event_type, self.relay)
        rt.bus.subscribe("match.created", self.match_created)
        rt.bus.subscribe("auth.sessions_revoked", self.sessions_revoked)
        rt.bus.subscribe("user.blocked", self.blocked)
        rt.bus.subscribe("conversation.closed", self.chat.conversation_closed)
        rt.spawn(self.recheck_loop())
        self.chat.batcher = SendBatcher(
            rt.sessionmaker, linger_s=rt.settings.send_commit_linger_ms / 1000
        )
        rt.spawn(self.chat.batcher.run())

    async def user_of(self, sid: str) -> uuid.UUID:
        return uuid.UUID((await self.sio.get_session(sid))["user_id"])

    # -- connection lifecycle -------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        rt = self.runtime
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise refused("auth_required", "Send auth: {token: <access token>}.")
        try:
            async with transaction(rt.sessionmaker) as session:
                principal = await rt.accounts.authenticate(session, token)
        except RapportError as exc:
            raise refused(exc.code, exc.message) from exc
        user = principal.user_id
        await self.sio.save_session(
            sid, {"user_id": str(user), "session_id": str(principal.session_id)}
        )
        await self.sio.enter_room(sid, f"user:{user}")
        self.local[sid] = (user, principal.session_id)
        first = await rt.presence.add(user, sid)
        pending = self._offline.pop(user, None)
        if pending is not None:
            pending.cancel()  # a quick reconnect: peers never saw this user go offline
        elif first:
            await self.announce(user, online=True)

    async def disconnect(self, sid: str, *args: Any) -> None:
        entry = self.local.pop(sid, None)
        if entry is None:
            return
        user, _ = entry
        await self.chat.socket_gone(sid, user)
        if await self.runtime.presence.remove(user, sid):
            task = asyncio.get_running_loop().create_task(self._offline_after_grace(user))
            self._offline[user] = task

    async def _offline_after_grace(self, user: uuid.UUID) -> None:
        await asyncio.sleep(self.runtime.settings.presence_grace_s)
        self._offline.pop(user, None)
        if not await self.runtime.presence.is_online(user):
            await self.announce(user, online=False)

    # -- presence ---------------------------------------------------------------------

    async def announce(self, user: uuid.UUID, *, online: bool) -> None:
        """Tell the user's matches (who also show presence) that they came or went."""
        rt = self.runtime
        try:
            async with transaction(rt.sessionmaker) as session:
                peers = await matching.match_peers(session, user)
                prefs = await accounts.preferences_of(session, [user, *peers])
        except Exception:
            log.exception("presence_announce_failed", user_id=str(user))
            return
        if user not in prefs or not prefs[user].show_presence:
            return
        payload = {
            "user_id": str(user),
            "online": online,
            "last_seen_at": None if online else datetime.now(UTC).isoformat(),
        }
        for peer in peers:
            if peer in prefs and prefs[peer].show_presence:
                await self.sio.emit("presence:update", payload, room=f"user:{peer}")

    # -- fan-out of domain events ---------------------------------------------------------

    async def relay(self, event: DomainEvent) -> None:
        name, payload = relayed(event)
        rooms = recipient_rooms(event)
        if rooms:
            await self.sio.emit(name, payload, to=rooms)

    async def blocked(self, event: DomainEvent) -> None:
        """A block hides presence both ways at once: each now sees the other offline (and the
        conversation's typing ends with its ``conversation.closed``). Calls do not exist yet;
        when they do, end any call between the two here, and refuse signaling between
        blocked users on every event (moderation.service.is_blocked)."""
        a, b = event.data["blocker_id"], event.data["blocked_id"]
        for viewer, subject in ((a, b), (b, a)):
            await self.sio.emit(
                "presence:update",
                {"user_id": subject, "online": False, "last_seen_at": None},
                room=f"user:{viewer}",
            )

    async def match_created(self, event: DomainEvent) -> None:
        payload = {
            "match_id": event.data["match_id"],
            "conversation_id": event.data["conversation_id"],
        }
        for user_id in event.data["user_ids"]:
            await self.sio.emit("match:new", payload, room=f"user:{user_id}")

    # -- revocation ---------------------------------------------------------------------

    async def sessions_revoked(self, event: DomainEvent) -> None:
        user = uuid.UUID(event.data["user_id"])
        ended = {uuid.UUID(s) for s in event.data["session_ids"]}
        for sid, (owner, session_id) in list(self.local.items()):
            if owner == user and (not ended or session_id in ended):
                await self.sio.disconnect(sid)

    async def recheck_loop(self) -> None:
        """Drop sockets whose login session ended on any node (revoked, expired, banned)."""
        while True:
            await asyncio.sleep(self.runtime.settings.socket_recheck_s)
            with contextlib.suppress(Exception):
                await self.recheck()

    async def recheck(self) -> None:
        rt = self.runtime
        # Judge only the sockets that existed when the question was asked: one that connects
        # while the query runs was authenticated just now and is not in its answer.
        snapshot = dict(self.local)
        held = {session_id for _, session_id in snapshot.values()}
        if not held:
            return
        live: set[uuid.UUID] = set()
        ids = list(held)
        for start in range(0, len(ids), RECHECK_CHUNK):
            # A query per chunk, with the loop free in between (SQLite runs inline: one query
            # for thousands of sockets would hold the loop for tens of milliseconds).
            async with transaction(rt.sessionmaker) as session:
                live |= await accounts.live_sessions(session, ids[start : start + RECHECK_CHUNK])
            await asyncio.sleep(0)
        for sid, (_, session_id) in snapshot.items():
            if session_id not in live and sid in self.local:
                await self.sio.disconnect(sid)
        await rt.presence.renew({sid: user for sid, (user, _) in self.local.items()})


def create_socket_server(app: FastAPI) -> socketio.AsyncServer:
    """Build the Socket.IO server for ``app``; its handlers find the runtime on ``app.state``."""
    return RealtimeNode(app).sio
