"""Socket.IO transport: handshake auth, ``message:send`` with ack, ``sync``, fan-out.

Thin like api.py: validate, call the chat service inside a transaction, map errors to
``{ok: false, error: {code, message}}``. Identity lives only in the socket session.
"""

from __future__ import annotations

import uuid
from typing import Any

import socketio
import structlog
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rapport.chat import service as chat
from rapport.chat.schemas import MessageSend
from rapport.events.schemas import DomainEvent
from rapport.kit.db import transaction
from rapport.kit.errors import RapportError
from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
MAX_FRAME = 64 * 1024
SYNC_PAGE = 100


class SendEvent(MessageSend):
    conversation_id: uuid.UUID


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursors: dict[uuid.UUID, int] = Field(default_factory=dict, max_length=1000)


def _invalid(exc: ValidationError) -> dict[str, Any]:
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()) or "payload"
    return {"ok": False, "error": {"code": "validation_error", "message": f"Invalid: {fields}."}}


def create_socket_server(app: FastAPI) -> socketio.AsyncServer:
    """Build the Socket.IO server for ``app``; handlers find the runtime on ``app.state``."""
    settings = app.state.settings
    origins: list[str] | None = settings.cors_origins or None
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=origins,
        max_http_buffer_size=MAX_FRAME,
        transports=["websocket", "polling"] if not settings.redis_url else ["websocket"],
    )

    def runtime() -> Runtime:
        rt: Runtime = app.state.runtime
        return rt

    async def fan_out(event: DomainEvent) -> None:
        message = event.data["message"]
        for user_id in event.data["recipients"]:
            await sio.emit("message:new", message, room=f"user:{user_id}")

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        rt = runtime()
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "auth_required", "message": "Send auth: {token: <access token>}."}
            )
        try:
            async with transaction(rt.sessionmaker) as session:
                principal = await rt.accounts.authenticate(session, token)
        except RapportError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": exc.code, "message": exc.message}
            ) from exc
        await sio.save_session(
            sid, {"user_id": str(principal.user_id), "session_id": str(principal.session_id)}
        )
        await sio.enter_room(sid, f"user:{principal.user_id}")

    async def user_of(sid: str) -> uuid.UUID:
        return uuid.UUID((await sio.get_session(sid))["user_id"])

    async def message_send(sid: str, data: Any = None) -> dict[str, Any]:
        try:
            payload = SendEvent.model_validate(data)
        except ValidationError as exc:
            return _invalid(exc)
        me = await user_of(sid)
        try:
            async with transaction(runtime().sessionmaker) as session:
                message, _ = await chat.send(
                    session,
                    me,
                    payload.conversation_id,
                    MessageSend.model_validate(payload.model_dump(exclude={"conversation_id"})),
                )
        except RapportError as exc:
            return exc.to_socket()
        return {"ok": True, "message": message.model_dump(mode="json")}

    async def sync(sid: str, data: Any = None) -> dict[str, Any]:
        try:
            request = SyncRequest.model_validate(data or {})
        except ValidationError as exc:
            return _invalid(exc)
        me = await user_of(sid)
        out = []
        async with transaction(runtime().sessionmaker) as session:
            for conv in await chat.conversations(session, me):
                since = request.cursors.get(conv.id, 0)
                if conv.last_seq <= since:
                    continue
                page = await chat.history(
                    session, me, conv.id, after=since, before=None, limit=SYNC_PAGE
                )
                out.append(
                    {
                        "conversation_id": str(conv.id),
                        "messages": [m.model_dump(mode="json") for m in page.messages],
                        "limited": page.has_more,
                        "next_cursor": page.next_after,
                    }
                )
        return {"ok": True, "conversations": out}

    app.state.on_runtime.append(lambda rt: rt.bus.subscribe("message.created", fan_out))
    sio.on("connect", connect)
    sio.on("message:send", message_send)
    sio.on("sync", sync)
    return sio
