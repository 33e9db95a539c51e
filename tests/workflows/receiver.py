"""A local webhook receiver: a real HTTP server on 127.0.0.1 that verifies Standard Webhooks
signatures the way docs/workflows.md tells integrators to, dedupes by ``webhook-id`` and
counts what it saw. It can be taken down (503, or the port closed) and brought back."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rapport.kit import clock
from rapport.workflows.signing import VerificationError, verify


@dataclass
class Receiver:
    secret: str
    port: int = 0
    status_when_down: int | None = None  # e.g. 503 while "down"
    raw: list[dict[str, Any]] = field(default_factory=list)  # every accepted POST
    events: list[dict[str, Any]] = field(default_factory=list)  # first delivery of each id
    rejected: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if receiver.status_when_down is not None:
                    self.send_response(receiver.status_when_down)
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items()}
                with receiver.lock:
                    try:
                        verify(
                            receiver.secret,
                            headers,
                            body,
                            now=int(clock.now().timestamp()),
                            seen=receiver.seen,
                        )
                    except VerificationError as exc:
                        receiver.rejected.append(str(exc))
                        # A replay was processed before: acknowledge so the sender stops.
                        replay = "replay" in str(exc)
                        self.send_response(200 if replay else 400)
                        self.end_headers()
                        return
                    event = json.loads(body)
                    receiver.raw.append({"headers": headers, "event": event})
                    receiver.events.append(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["type"] == event_type]
