"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec/standard-webhooks.md).

Headers: ``webhook-id`` (the event id, the same on every retry), ``webhook-timestamp`` (unix
seconds of this attempt) and ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256
of "id.timestamp.body">``, one per active secret (two during a rotation). Secrets look like
``whsec_<base64 of 24–64 random bytes>``.

:func:`verify` is the receiver side the docs give to integrators (docs/workflows.md): it
checks the timestamp against a tolerance, compares in constant time, and rejects an id it
has seen before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, MutableSet

PREFIX = "whsec_"
TOLERANCE_S = 300


class VerificationError(ValueError):
    """The request is not a valid, fresh, first delivery from the holder of the secret."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError("A webhook secret is 'whsec_' followed by base64.") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("A webhook secret holds 24 to 64 random bytes.")
    return key


def is_valid_secret(secret: str) -> bool:
    try:
        _key(secret)
    except ValueError:
        return False
    return True


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three signing headers for one attempt, signed with every given secret."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_),
    }


def verify(
    secret: str,
    request_headers: dict[str, str],
    body: bytes,
    *,
    now: int,
    seen: MutableSet[str] | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> str:
    """Check a delivery; returns its ``webhook-id``. ``seen`` remembers accepted ids (pass a
    store with expiry in production: entries older than the tolerance can be forgotten)."""
    h = {k.lower(): v for k, v in request_headers.items()}
    msg_id, stamp, sigs = (
        h.get("webhook-id"),
        h.get("webhook-timestamp"),
        h.get("webhook-signature"),
    )
    if not (msg_id and stamp and sigs):
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise VerificationError("webhook-timestamp is not unix seconds") from exc
    if abs(now - timestamp) > tolerance_s:
        raise VerificationError("webhook-timestamp is outside the tolerance")
    expected = signature(secret, msg_id, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in sigs.split(" ") if s):
        raise VerificationError("no matching signature")
    if seen is not None:
        if msg_id in seen:
            raise VerificationError("webhook-id already processed (replay)")
        seen.add(msg_id)
    return msg_id
