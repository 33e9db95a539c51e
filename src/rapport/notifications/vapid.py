"""VAPID keys (RFC 8292): parse the configured private key, derive the public key, mint pairs.

The public key is the browser's ``applicationServerKey``: the uncompressed P-256 point
(65 bytes, 0x04 || X || Y) in URL-safe base64 without padding.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SUBJECT = re.compile(
    r"^(mailto:[^@\s]+@(localhost|[\w-]+(\.[\w-]+)+)|https://(localhost|[\w-]+(\.[\w-]+)+))$"
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode URL-safe base64 with or without padding; ValueError when it is not."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", cleaned) or len(cleaned) % 4 == 1:
        raise ValueError("not URL-safe base64")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not URL-safe base64") from exc


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM (PKCS#8 or SEC1), DER in base64url, or the raw 32-byte
    scalar in base64url (what ``rapport vapid`` prints)."""
    text = text.strip().replace("\\n", "\n")  # PEM pasted into one .env line
    key: object
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("the VAPID private key is not a P-256 key (PEM or base64url)") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the VAPID private key must be an EC key on P-256 (prime256v1)")
    return key


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    public_key: str
    subject: str


@lru_cache(maxsize=4)
def load(private: str, public: str, subject: str) -> VapidKeys:
    """Validated keys; ``public`` may be empty (derived) but must match when given."""
    key = parse_private_key(private)
    derived = b64url(public_point(key.public_key()))
    if public.strip():
        try:
            given = b64url_decode(public)
        except ValueError as exc:
            raise ValueError("RAPPORT_VAPID_PUBLIC_KEY is not URL-safe base64") from exc
        if given != public_point(key.public_key()):
            raise ValueError("RAPPORT_VAPID_PUBLIC_KEY does not belong to the private key")
    if not SUBJECT.match(subject):
        raise ValueError(
            "RAPPORT_VAPID_SUBJECT must be a contact: mailto:ops@example.com or "
            "https://example.com (no path)"
        )
    return VapidKeys(private_key=key, public_key=derived, subject=subject)


def generate() -> tuple[str, str]:
    """A fresh pair: (raw private scalar, public point), both URL-safe base64."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(scalar), b64url(public_point(key.public_key()))
