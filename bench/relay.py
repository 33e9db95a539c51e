"""Baseline for the messaging benchmark: a bare python-socketio relay, no auth, no database.

The same server as Rapport's (python-socketio ``AsyncServer(async_mode="asgi")`` under uvicorn
with its default event loop, HTTP and websocket implementations, same frame limit and
transports; see below for what Rapport adds on that library) and the same event shape:
``message:send`` is acknowledged with ``{ok: true, message}`` and the message is emitted as
``message:new`` to the rooms of both members. What it leaves out is everything a real chat
needs: token checks, payload validation, membership checks, the per-conversation seq in a
database, and commit before ack.

It runs python-socketio as it comes: the stock packet class (stdlib ``json``) and the stock
client manager (a task per recipient of an emit, one emit per member). Rapport's nodes use their
own on the same library: orjson packets (``rapport/realtime/packets.py``), a manager that indexes
rooms and emits without a task per recipient (``rapport/realtime/rooms.py``), and one emit to
both members' rooms. The process tuning is the same for both (``rapport.kit.gctune``).

Run: ``python -m bench.relay --port 8765``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn

from rapport.kit import gctune

MAX_FRAME = 64 * 1024  # as rapport.realtime.server.MAX_FRAME


def create_app() -> socketio.ASGIApp:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=None,
        max_http_buffer_size=MAX_FRAME,
        transports=["websocket", "polling"],
    )
    seqs: defaultdict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        if not isinstance(auth, dict) or not isinstance(auth.get("user_id"), str):
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "auth_required", "message": "Send auth: {user_id, peer_id}."}
            )
        user_id, peer_id = auth["user_id"], str(auth.get("peer_id") or "")
        await sio.save_session(sid, {"user_id": user_id, "peer_id": peer_id})
        await sio.enter_room(sid, f"user:{user_id}")

    async def message_send(sid: str, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("conversation_id"), str):
            return {"ok": False, "error": {"code": "validation_error", "message": "Invalid."}}
        me = await sio.get_session(sid)
        conversation_id = data["conversation_id"]
        message = {
            "id": str(uuid.uuid4()),
            "conversation_id": conversation_id,
            "seq": next(seqs[conversation_id]),
            "sender_id": me["user_id"],
            "kind": data.get("kind", "text"),
            "body": data.get("body", ""),
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "client_msg_id": data.get("client_msg_id"),
            "reply_to": None,
            "ai_assisted": False,
        }
        for user_id in (me["user_id"], me["peer_id"]):
            await sio.emit("message:new", message, room=f"user:{user_id}")
        return {"ok": True, "message": message}

    sio.on("connect", connect)
    sio.on("message:send", message_send)
    # Like Rapport, Socket.IO sits in front of another ASGI app (here just a health check).
    return socketio.ASGIApp(sio, other_asgi_app=_healthz)


_background: set[asyncio.Task[None]] = set()


async def _healthz(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            gctune.tune()  # the same process tuning as `rapport serve`
            _background.add(asyncio.get_running_loop().create_task(gctune.collect_in_lulls()))
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    ok = scope["path"] == "/healthz"
    await send(
        {
            "type": "http.response.start",
            "status": 200 if ok else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status":"ok"}' if ok else b"{}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # Same uvicorn settings as `rapport serve` (loop/http/ws "auto", no permessage-deflate).
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
