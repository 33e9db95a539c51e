"""Socket.IO handlers of chat: send, receipts, typing, sync. As thin as api.py."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rapport.chat import service
from rapport.chat.batcher import SendBatcher
from rapport.chat.schemas import MessageSend, ReceiptIn
from rapport.events.schemas import DomainEvent
from rapport.kit.db import transaction
from rapport.kit.errors import RapportError, RateLimited
from rapport.moderation import sanctions

if TYPE_CHECKING:
    from rapport.realtime.server import RealtimeNode

SYNC_PAGE = 100
Ack = dict[str, Any]


class SendEvent(MessageSend):
    conversation_id: uuid.UUID


class TypingEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: uuid.UUID
    active: bool


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursors: dict[uuid.UUID, int] = Field(default_factory=dict, max_length=1000)


def invalid(exc: ValidationError) -> Ack:
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()) or "payload"
    return {"ok": False, "error": {"code": "validation_error", "message": f"Invalid: {fields}."}}


class ChatHandlers:
    """Binds chat events to a realtime node (its server, runtime and socket sessions)."""

    def __init__(self, node: RealtimeNode) -> None:
        self.node = node
        self.batcher: SendBatcher  # set when the node starts (needs the runtime)
        self._typing: dict[tuple[str, uuid.UUID], tuple[asyncio.TimerHandle, list[uuid.UUID]]] = {}

    def register(self) -> None:
        sio = self.node.sio
        sio.on("message:send", self.message_send)
        sio.on("receipt:delivered", self.receipt_delivered)
        sio.on("receipt:read", self.receipt_read)
        sio.on("typing", self.typing)
        sio.on("sync", self.sync)

    async def message_send(self, sid: str, data: Any = None) -> Ack:
        try:
            payload = SendEvent.model_validate(data)
        except ValidationError as exc:
            return invalid(exc)
        me = await self.node.user_of(sid)
        rt = self.node.runtime
        s = rt.settings
        wait = await rt.bucket.take(f"send:{me}", s.send_rate_per_s, s.send_burst)
        if wait:
            return RateLimited("Sending too fast.", retry_after_s=max(1, round(wait))).to_socket()
        try:  # a SendEvent is a MessageSend (plus the conversation id): no second validation
            message = await self.batcher.submit(me, payload.conversation_id, payload)
        except RapportError as exc:
            return exc.to_socket()
        except Exception:
            # Not committed (the database failed): the client retries under the same id.
            return {
                "ok": False,
                "error": {"code": "unavailable", "message": "Not stored; retry with the same id."},
            }
        await self._stop_typing(sid, me, payload.conversation_id)
        return {"ok": True, "message": message.model_dump(mode="json")}

    async def receipt_delivered(self, sid: str, data: Any = None) -> Ack:
        return await self._receipt(sid, data, "delivered")

    async def receipt_read(self, sid: str, data: Any = None) -> Ack:
        return await self._receipt(sid, data, "read")

    async def _receipt(self, sid: str, data: Any, kind: str) -> Ack:
        try:
            payload = ReceiptIn.model_validate(data)
        except ValidationError as exc:
            return invalid(exc)
        me = await self.node.user_of(sid)
        try:
            async with transaction(self.node.runtime.sessionmaker) as session:
                state = await service.mark(
                    session,
                    me,
                    payload.conversation_id,
                    "read" if kind == "read" else "delivered",
                    payload.up_to_seq,
                )
        except RapportError as exc:
            return exc.to_socket()
        return {"ok": True, "receipt": state.model_dump(mode="json")}

    async def typing(self, sid: str, data: Any = None) -> Ack:
        """Relay typing to the other member; it lapses after the TTL without a refresh."""
        try:
            payload = TypingEvent.model_validate(data)
        except ValidationError as exc:
            return invalid(exc)
        me = await self.node.user_of(sid)
        try:
            async with transaction(self.node.runtime.sessionmaker) as session:
                peers = await service.peer_ids(session, me, payload.conversation_id)
                silenced = (await sanctions.standing(session, me)).shadowed
        except RapportError as exc:
            return exc.to_socket()
        if silenced:  # a shadow-banned user's typing reaches no one, like their messages
            return {"ok": True}
        key = (sid, payload.conversation_id)
        previous = self._typing.pop(key, None)
        if previous is not None:
            previous[0].cancel()
        if payload.active:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(
                self.node.runtime.settings.typing_ttl_s,
                lambda: loop.create_task(self._stop_typing(sid, me, payload.conversation_id)),
            )
            self._typing[key] = (timer, peers)
        await self._emit_typing(me, payload.conversation_id, payload.active, peers)
        return {"ok": True}

    async def _stop_typing(self, sid: str, me: uuid.UUID, conversation_id: uuid.UUID) -> None:
        """End a typing state this socket announced (on expiry, send or disconnect)."""
        entry = self._typing.pop((sid, conversation_id), None)
        if entry is None:
            return
        timer, peers = entry
        timer.cancel()
        await self._emit_typing(me, conversation_id, False, peers)

    async def _emit_typing(
        self, me: uuid.UUID, conversation_id: uuid.UUID, active: bool, peers: list[uuid.UUID]
    ) -> None:
        payload = {"conversation_id": str(conversation_id), "user_id": str(me), "active": active}
        for peer in peers:
            await self.node.sio.emit("typing", payload, room=f"user:{peer}")

    async def conversation_closed(self, event: DomainEvent) -> None:
        """Unmatch, block, erasure: typing in that conversation ends at once, both ways (the
        relay covers members connected to other nodes too)."""
        conversation_id = uuid.UUID(event.data["conversation_id"])
        for key in [k for k in self._typing if k[1] == conversation_id]:
            timer, _ = self._typing.pop(key)
            timer.cancel()
        members = [uuid.UUID(u) for u in event.data.get("recipients", [])]
        for typist in members:
            await self._emit_typing(
                typist, conversation_id, False, [m for m in members if m != typist]
            )

    async def socket_gone(self, sid: str, me: uuid.UUID) -> None:
        """A socket left: whatever it was typing stops now."""
        for key in [k for k in self._typing if k[0] == sid]:
            await self._stop_typing(sid, me, key[1])

    async def sync(self, sid: str, data: Any = None) -> Ack:
        """Messages after the client's cursors (paged) plus conversation changes."""
        try:
            request = SyncRequest.model_validate(data or {})
        except ValidationError as exc:
            return invalid(exc)
        me = await self.node.user_of(sid)
        out = []
        async with transaction(self.node.runtime.sessionmaker) as session:
            live = await service.conversations(session, me)
            for conv in live:
                since = request.cursors.get(conv.id, 0)
                if conv.last_seq <= since and conv.id in request.cursors:
                    continue
                page = await service.history(
                    session, me, conv.id, after=since, before=None, limit=SYNC_PAGE
                )
                out.append(
                    {
                        "conversation_id": str(conv.id),
                        "match_id": str(conv.match_id) if conv.match_id else None,
                        "peer_id": str(conv.peer_id) if conv.peer_id else None,
                        "last_seq": conv.last_seq,
                        "messages": [m.model_dump(mode="json") for m in page.messages],
                        "limited": page.has_more,
                        "next_cursor": page.next_after,
                    }
                )
            closed = await service.closed_among(session, me, list(request.cursors))
        return {"ok": True, "conversations": out, "closed": [str(c) for c in closed]}
