"""Forged-token suite: only our HS256 access tokens with the right audience, issuer and type
pass; refresh tokens are not access tokens."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from rapport.accounts.tokens import TokenCodec, new_refresh_token
from rapport.kit.clock import FrozenClock, set_clock
from rapport.kit.errors import Unauthorized

SECRET = "s" * 64


def codec(**kw: object) -> TokenCodec:
    args: dict[str, object] = {"audience": "rapport", "issuer": "rapport", "ttl_s": 900}
    args.update(kw)
    return TokenCodec(SECRET, **args)  # type: ignore[arg-type]


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "rapport",
        "aud": "rapport",
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    base.update(overrides)
    return base


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip() -> None:
    user, sid = uuid.uuid4(), uuid.uuid4()
    token, expires = codec().issue(user, sid)
    got = codec().verify(token)
    assert (got.user_id, got.session_id) == (user, sid)
    assert expires - datetime.now(UTC) <= timedelta(seconds=900)


def test_rejects_alg_none() -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    with pytest.raises(Unauthorized) as exc:
        codec().verify(token)
    assert exc.value.code == "token_invalid"


def test_rejects_wrong_key() -> None:
    token = jwt.encode(claims(), "another-secret-of-sufficient-length!!", algorithm="HS256")
    with pytest.raises(Unauthorized):
        codec().verify(token)


def test_rejects_expired_token() -> None:
    previous = set_clock(FrozenClock(datetime.now(UTC) - timedelta(hours=1)))
    try:
        token, _ = codec().issue(uuid.uuid4(), uuid.uuid4())
    finally:
        set_clock(previous)
    with pytest.raises(Unauthorized) as exc:
        codec().verify(token)
    assert exc.value.code == "token_expired"


def test_rejects_refresh_token_used_as_access_token() -> None:
    with pytest.raises(Unauthorized):
        codec().verify(new_refresh_token())


@pytest.mark.parametrize(
    "bad",
    [{"aud": "someone-else"}, {"iss": "evil"}, {"typ": "refresh"}, {"sub": "not-a-uuid"}],
)
def test_rejects_wrong_claims(bad: dict[str, object]) -> None:
    token = jwt.encode(claims(**bad), SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        codec().verify(token)


@pytest.mark.parametrize("missing", ["exp", "sid", "typ", "aud"])
def test_rejects_missing_claims(missing: str) -> None:
    data = claims()
    del data[missing]
    with pytest.raises(Unauthorized):
        codec().verify(jwt.encode(data, SECRET, algorithm="HS256"))


def test_rejects_asymmetric_algorithm_confusion() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS256")
    with pytest.raises(Unauthorized):
        codec().verify(token)


def test_rejects_hs512_even_with_right_key() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS512")
    with pytest.raises(Unauthorized):
        codec().verify(token)
