"""Web Push delivery: RFC 8291 ``aes128gcm`` encryption and an RFC 8030 POST carrying an
RFC 8292 VAPID ``Authorization``, through pywebpush in a worker thread (it is synchronous).

Endpoints are checked twice (on subscribe and before each send): https, or plain http only
for hosts the operator allow-listed; never a loopback, private or link-local address unless
allow-listed. Redirects are refused, so a push service cannot bounce us elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import structlog
from prometheus_client import Counter
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from rapport.config import Settings
from rapport.notifications.vapid import VapidKeys, b64url, load

log = structlog.get_logger(__name__)
Outcome = Literal["sent", "gone", "failed"]
MAX_BODY = 240
# pywebpush blocks; its own threads, so a slow push service never delays password hashing
# (which uses the default executor).
PUSH_THREADS = 8
PUSHES = Counter(
    "rapport_web_push_total", "Web Push attempts by outcome (sent, gone, failed)", ["outcome"]
)


def keys_from(settings: Settings) -> VapidKeys | None:
    """The node's VAPID keys, or None when push is not configured."""
    private = settings.vapid_private_key.get_secret_value()
    if not private.strip():
        return None
    return load(private, settings.vapid_public_key, settings.vapid_subject)


def endpoint_problem(endpoint: str, allowed_http_hosts: list[str]) -> str | None:
    """Why ``endpoint`` may not receive pushes from us, or None when it may."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return "not a URL"
    if not host or parts.username or parts.password or parts.fragment:
        return "needs a host and no credentials or fragment"
    allowed = host in allowed_http_hosts
    if parts.scheme != "https" and not (parts.scheme == "http" and allowed):
        return "must be https"
    if allowed:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "may not be a local address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # A name. Its last label must look like a TLD: resolvers read "127.1" or
        # "0x7f000001" as loopback addresses.
        if not re.fullmatch(r"[a-z][a-z0-9-]*", host.rstrip(".").rsplit(".", 1)[-1], re.I):
            return "is not a valid host name"
        return None
    if not address.is_global:
        return "may not be a private, loopback or link-local address"
    return None


def host_of(endpoint: str) -> str:
    """What logs may say about an endpoint (its path is a bearer capability)."""
    return urlsplit(endpoint).hostname or "?"


def topic_for(collapse_key: str | None) -> str | None:
    """RFC 8030 Topic (≤ 32 URL-safe base64 characters): a pending push with the same topic
    is replaced by the push service instead of queued."""
    if not collapse_key:
        return None
    return b64url(hashlib.sha256(collapse_key.encode()).digest())[:32]


def payload(notification: dict[str, Any]) -> str:
    """What the service worker receives: ``{title, body, url, kind, id}``."""
    body = notification["body"]
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1] + "…"
    return json.dumps(
        {
            "title": notification["title"],
            "body": body,
            "url": notification["data"].get("url") or "/",
            "kind": notification["kind"],
            "id": notification["id"],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class Target:
    """One subscription, as the sender needs it."""

    id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Result:
    target: Target
    outcome: Outcome
    status: int | None


class PushSender:
    """Sends one push per call; safe to share (each call builds its own claims and session).
    ``close()`` stops its threads."""

    def __init__(self, keys: VapidKeys, settings: Settings) -> None:
        self.keys = keys
        self._vapid = Vapid(private_key=keys.private_key)
        self._ttl = settings.push_ttl_s
        self._timeout = settings.push_timeout_s
        self._allowed = list(settings.push_allowed_http_hosts)
        self._pool = ThreadPoolExecutor(PUSH_THREADS, thread_name_prefix="webpush")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def send(
        self, target: Target, data: str, *, topic: str | None, urgency: str, log_ctx: dict[str, str]
    ) -> Result:
        result = await self._send(target, data, topic, urgency, log_ctx)
        PUSHES.labels(result.outcome).inc()
        return result

    async def _send(
        self, target: Target, data: str, topic: str | None, urgency: str, log_ctx: dict[str, str]
    ) -> Result:
        host = host_of(target.endpoint)
        problem = endpoint_problem(target.endpoint, self._allowed)
        if problem is not None:
            log.warning("push_refused", host=host, reason=problem, **log_ctx)
            return Result(target, "gone", None)
        try:
            post = partial(self._post, target, data, topic, urgency)
            loop = asyncio.get_running_loop()
            status = await asyncio.wait_for(
                loop.run_in_executor(self._pool, post), self._timeout + 1
            )
        except WebPushException as exc:
            status = exc.status_code
        except Exception as exc:  # network, timeout, or a subscription pywebpush rejects
            log.warning("push_failed", host=host, error=type(exc).__name__, **log_ctx)
            return Result(target, "failed", None)
        if status is not None and 200 <= status < 300:
            log.info("push_sent", host=host, status=status, **log_ctx)
            return Result(target, "sent", status)
        if status in (404, 410):
            log.info("push_subscription_gone", host=host, status=status, **log_ctx)
            return Result(target, "gone", status)
        log.warning("push_failed", host=host, status=status, **log_ctx)
        return Result(target, "failed", status)

    def _post(self, target: Target, data: str, topic: str | None, urgency: str) -> int:
        headers: dict[str, str | int | float] = {"Urgency": urgency}
        if topic:
            headers["Topic"] = topic
        with requests.Session() as http:
            http.max_redirects = 0
            response = webpush(
                subscription_info={
                    "endpoint": target.endpoint,
                    "keys": {"p256dh": target.p256dh, "auth": target.auth},
                },
                data=data,
                vapid_private_key=self._vapid,
                # A fresh dict per call: pywebpush writes aud and exp into it.
                vapid_claims={"sub": self.keys.subject},
                content_encoding="aes128gcm",
                ttl=self._ttl,
                headers=headers,
                timeout=self._timeout,
                requests_session=http,
            )
        return int(response.status_code)
