"""Async Python client for Rapport: REST login plus a Socket.IO connection with the delivery
contract done right on the client side — sends retried under the same ``client_msg_id`` until
acknowledged, incoming messages deduplicated by id, seq gaps detected, and a resync on every
(re)connect. Tests, bots and the benchmark use it.

    client = RapportClient("http://127.0.0.1:8000")
    await client.login("mei@demo.rapport.test", "rapport-demo-2026")
    await client.connect()
    message = await client.send(conversation_id, "你好")
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import socketio

Message = dict[str, Any]
Listener = Callable[[Message], Awaitable[None] | None]


class RapportClientError(Exception):
    """The server refused a request with a stable ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RapportClient:
    """One user's connection. Safe to use from one event loop."""

    def __init__(
        self,
        base_url: str,
        *,
        ack_timeout: float = 5.0,
        max_attempts: int = 20,
        reconnect_delay: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=30)
        self.ack_timeout = ack_timeout
        self.max_attempts = max_attempts
        self.user_id: str | None = None
        self._access: str | None = None
        self._access_expires = datetime.min.replace(tzinfo=UTC)
        self._refresh: str | None = None
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=reconnect_delay, reconnection_delay_max=5
        )
        self.messages: dict[str, dict[int, Message]] = {}
        self.cursors: dict[str, int] = {}
        self._seen: set[str] = set()
        self._listeners: list[Listener] = []
        self._connected = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("message:new", self._on_message)
        self.sio.on("connect_error", self._on_connect_error)

    # -- accounts -------------------------------------------------------------------------

    async def register(self, email: str, password: str) -> str:
        return self._take(
            await self._post("/api/v1/auth/register", {"email": email, "password": password})
        )

    async def login(self, email: str, password: str) -> str:
        return self._take(
            await self._post("/api/v1/auth/login", {"email": email, "password": password})
        )

    async def refresh(self) -> None:
        self._take(await self._post("/api/v1/auth/refresh", {"refresh_token": self._refresh}))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """An authenticated REST call; problem JSON becomes :class:`RapportClientError`."""
        await self._fresh_token()
        r = await self.http.request(method, path, headers=self.headers, **kwargs)
        if r.status_code >= 400:
            body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
            raise RapportClientError(body.get("code", str(r.status_code)), body.get("detail", ""))
        return r.json()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.post(path, json=body)
        data: dict[str, Any] = r.json()
        if r.status_code >= 400:
            raise RapportClientError(data.get("code", str(r.status_code)), data.get("detail", ""))
        return data

    def _take(self, tokens: dict[str, Any]) -> str:
        self._access = tokens["access_token"]
        self._refresh = tokens["refresh_token"]
        self._access_expires = datetime.fromisoformat(tokens["access_expires_at"])
        self.user_id = tokens["user_id"]
        return str(tokens["user_id"])

    async def _fresh_token(self) -> str:
        if self._access is None:
            raise RapportClientError("not_signed_in", "log in first")
        if self._access_expires - datetime.now(UTC) < timedelta(seconds=60):
            await self.refresh()
        assert self._access is not None
        return self._access

    # -- socket ---------------------------------------------------------------------------

    async def connect(self, timeout: float = 10) -> None:
        """Open the socket (websocket transport); it reconnects and resyncs on its own."""
        await self._fresh_token()
        await self.sio.connect(
            self.base_url,
            auth=lambda: {"token": self._access},
            transports=["websocket"],
            wait_timeout=timeout,
        )
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def disconnect(self) -> None:
        """Close the socket for good (no automatic reconnect)."""
        await self.sio.disconnect()
        self._connected.clear()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.disconnect()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()

    def on_message(self, listener: Listener) -> None:
        """Call ``listener`` once per new message (after dedupe), in arrival order."""
        self._listeners.append(listener)

    async def _on_connect(self) -> None:
        self._connected.set()
        self._spawn(self.sync())

    async def _on_disconnect(self, *args: Any) -> None:
        self._connected.clear()

    async def _on_connect_error(self, data: Any = None) -> None:
        code = data.get("code") if isinstance(data, dict) else None
        if code == "token_expired" and self._refresh:
            self._spawn(self.refresh())

    async def _on_message(self, message: Message) -> None:
        await self._store(message, live=True)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- messages -------------------------------------------------------------------------

    async def send(
        self,
        conversation_id: str,
        body: str,
        *,
        client_msg_id: str | None = None,
        confirm: bool = False,
    ) -> Message:
        """Send until acknowledged; retries reuse the same ``client_msg_id`` (no duplicates).
        Moderation's "Are you sure?" raises ``RapportClientError("confirm_required")``: send
        again with the same ``client_msg_id`` and ``confirm=True`` to send it anyway."""
        payload = {
            "conversation_id": conversation_id,
            "client_msg_id": client_msg_id or uuid.uuid4().hex,
            "kind": "text",
            "body": body,
            "confirm": confirm,
        }
        for _ in range(self.max_attempts):
            try:
                await asyncio.wait_for(self._connected.wait(), self.ack_timeout * 4)
                ack = await self.sio.call("message:send", payload, timeout=self.ack_timeout)
            except (
                socketio.exceptions.TimeoutError,
                socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError,
                TimeoutError,
            ):
                continue  # lost ack or lost connection: retry under the same id
            if ack.get("ok"):
                message: Message = ack["message"]
                await self._store(message, live=False)
                return message
            error = ack.get("error", {})
            if error.get("code") == "rate_limited":
                await asyncio.sleep(float(error.get("retry_after_s", 1)))
                continue
            raise RapportClientError(error.get("code", "error"), error.get("message", ""))
        raise RapportClientError("unacknowledged", f"no ack after {self.max_attempts} attempts")

    async def sync(self) -> None:
        """Fetch everything after our cursors (all pages) and drop closed conversations."""
        async with self._sync_lock:
            while True:
                try:
                    ack = await self.sio.call(
                        "sync", {"cursors": dict(self.cursors)}, timeout=self.ack_timeout * 2
                    )
                except Exception:
                    return  # the next (re)connect syncs again
                if not ack.get("ok"):
                    return
                for conv in ack["conversations"]:
                    self.messages.setdefault(conv["conversation_id"], {})
                    self.cursors.setdefault(conv["conversation_id"], 0)
                    for message in conv["messages"]:
                        await self._store(message, live=False, from_sync=True)
                    # The answer covers everything up to here, even seqs it did not return
                    # (a message moderation withheld from us): no gap stays open forever.
                    covered = conv["next_cursor"] if conv["limited"] else conv["last_seq"]
                    cid = conv["conversation_id"]
                    self.cursors[cid] = max(self.cursors[cid], int(covered or 0))
                for closed in ack.get("closed", []):
                    self.cursors.pop(closed, None)
                if not any(c["limited"] for c in ack["conversations"]):
                    return

    async def _store(self, message: Message, *, live: bool, from_sync: bool = False) -> None:
        if message["id"] in self._seen:
            return
        self._seen.add(message["id"])
        conv, seq = message["conversation_id"], int(message["seq"])
        self.messages.setdefault(conv, {})[seq] = message
        held = self.messages[conv]
        cursor = self.cursors.get(conv, 0)
        while cursor + 1 in held:
            cursor += 1
        self.cursors[conv] = cursor
        if live and seq > cursor and not from_sync:
            self._spawn(self.sync())  # a gap: something before this one was missed
        for listener in self._listeners:
            result = listener(message)
            if result is not None:
                await result

    def history(self, conversation_id: str) -> list[Message]:
        """Messages held for a conversation, in seq order."""
        held = self.messages.get(conversation_id, {})
        return [held[s] for s in sorted(held)]
