"""Access tokens (short JWTs) and opaque refresh tokens.

Access JWTs are HS256 only (an allowlist: ``none`` and asymmetric algorithms are refused), carry
``aud``, ``iss``, ``typ=access``, ``sub`` (user) and ``sid`` (login session), and live at most 15
minutes. Refresh tokens are 256-bit random strings; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from rapport.kit import clock
from rapport.kit.errors import Unauthorized
from rapport.kit.ids import new_id

ALGORITHMS = ["HS256"]
ACCESS_TYP = "access"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


class TokenCodec:
    """Signs and verifies access tokens with the configured secret."""

    def __init__(self, secret: str, *, audience: str, issuer: str, ttl_s: int) -> None:
        self._secret = secret
        self._audience = audience
        self._issuer = issuer
        self.ttl_s = ttl_s

    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[str, datetime]:
        issued = clock.now()
        expires = issued + timedelta(seconds=self.ttl_s)
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": ACCESS_TYP,
            "jti": str(new_id()),
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHMS[0]), expires

    def verify(self, token: str) -> AccessClaims:
        """Return the claims of a valid access token or raise :class:`Unauthorized`."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "sid", "typ", "aud", "iss"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired.", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Access token invalid.", code="token_invalid") from exc
        if claims.get("typ") != ACCESS_TYP:
            raise Unauthorized("Not an access token.", code="token_invalid")
        try:
            user_id = uuid.UUID(claims["sub"])
            session_id = uuid.UUID(claims["sid"])
        except (ValueError, TypeError) as exc:
            raise Unauthorized("Access token invalid.", code="token_invalid") from exc
        exp = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        return AccessClaims(user_id=user_id, session_id=session_id, expires_at=exp)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
