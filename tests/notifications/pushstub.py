"""A local Web Push service for tests: a real HTTP server on 127.0.0.1 that checks each
request the way a push service and a browser would (RFC 8030 delivery, RFC 8291 message
encryption, RFC 8292 VAPID) and decrypts the body with the subscription's own keys.

``device()`` plays the browser: it makes a P-256 key pair and an auth secret and returns what
``PushSubscription.toJSON()`` would. Each delivery is recorded with the problems found; a
request with problems is answered 400, a good one with the device's configured status.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class Device:
    """A browser's push subscription: the private half stays here."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    status: int = 201

    @classmethod
    def create(cls, endpoint: str, token: str = "", status: int = 201) -> Device:
        """A new browser key pair and auth secret for ``endpoint``."""
        return cls(
            token=token,
            endpoint=endpoint,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
            status=status,
        )

    def subscription(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives the web client."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {
                "p256dh": b64url(point(self.private_key.public_key())),
                "auth": b64url(self.auth),
            },
        }


@dataclass
class Delivery:
    token: str
    status: int
    headers: dict[str, str]
    payload: dict[str, Any] | None
    claims: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)


class PushStub:
    def __init__(self, vapid_public_key: str, subject: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.subject = subject
        self.devices: dict[str, Device] = {}
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> PushStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def device(self, status: int = 201) -> Device:
        token = secrets.token_urlsafe(24)
        dev = Device.create(f"{self.origin}/push/{token}", token, status)
        self.devices[token] = dev
        return dev

    def received(self, dev: Device) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.token == dev.token]

    def check(self, dev: Device, headers: dict[str, str], body: bytes) -> Delivery:
        """Every check a push service and the receiving browser make."""
        problems: list[str] = []
        ttl = headers.get("ttl")
        if ttl is None or not ttl.isdigit():
            problems.append(f"TTL header missing or not a number: {ttl!r}")
        if headers.get("content-encoding") != "aes128gcm":
            problems.append(f"Content-Encoding is {headers.get('content-encoding')!r}")
        topic = headers.get("topic")
        if topic is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", topic):
            problems.append(f"bad Topic {topic!r}")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in ("very-low", "low", "normal", "high"):
            problems.append(f"bad Urgency {urgency!r}")
        claims = self._check_vapid(headers.get("authorization", ""), problems)
        payload = None
        try:
            plain = http_ece.decrypt(
                body, private_key=dev.private_key, auth_secret=dev.auth, version="aes128gcm"
            )
            payload = json.loads(plain)
        except Exception as exc:
            problems.append(f"body does not decrypt to JSON: {exc!r}")
        return Delivery(dev.token, 201, headers, payload, claims, problems)

    def _check_vapid(self, authorization: str, problems: list[str]) -> dict[str, Any] | None:
        scheme, _, rest = authorization.partition(" ")
        params = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if scheme.lower() != "vapid" or "t" not in params or "k" not in params:
            problems.append(f"Authorization is not 'vapid t=…, k=…': {authorization[:40]!r}")
            return None
        if params["k"] != self.vapid_public_key:
            problems.append("k is not the server's VAPID public key")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64url_decode(params["k"])
            )
            header = jwt.get_unverified_header(params["t"])
            claims: dict[str, Any] = jwt.decode(
                params["t"],
                key,
                algorithms=["ES256"],
                audience=self.origin,
                options={"require": ["aud", "exp", "sub"]},
            )
        except Exception as exc:
            problems.append(f"VAPID JWT does not verify: {exc!r}")
            return None
        if header.get("alg") != "ES256":
            problems.append(f"JWT alg {header.get('alg')!r}")
        if claims["sub"] != self.subject:
            problems.append(f"sub is {claims['sub']!r}")
        if not time.time() < claims["exp"] <= time.time() + 24 * 3600:
            problems.append("exp is not within the next 24 hours")
        return claims

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                token = self.path.removeprefix("/push/")
                dev = stub.devices.get(token)
                if dev is None:
                    self._answer(404)
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                delivery = stub.check(dev, headers, body)
                delivery.status = 400 if delivery.problems else dev.status
                with stub._lock:
                    stub.deliveries.append(delivery)
                self._answer(delivery.status)

            def do_GET(self) -> None:
                self._answer(405)

        return Handler
