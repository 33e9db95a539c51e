"""The verification code docs/workflows.md gives receivers: signature, tolerance, replay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.workflows import signing

NOW = 1_780_000_000
SECRET = signing.new_secret()


def test_a_fresh_signed_request_verifies_once() -> None:
    body = b'{"id":"e1","type":"user.registered"}'
    headers = signing.headers([SECRET], "e1", NOW, body)
    seen: set[str] = set()
    assert signing.verify(SECRET, headers, body, now=NOW + 10, seen=seen) == "e1"
    with pytest.raises(signing.VerificationError, match="replay"):
        signing.verify(SECRET, headers, body, now=NOW + 11, seen=seen)


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_a_stale_or_future_timestamp_is_rejected(skew: int) -> None:
    body = b"{}"
    headers = signing.headers([SECRET], "e2", NOW, body)
    with pytest.raises(signing.VerificationError, match="tolerance"):
        signing.verify(SECRET, headers, body, now=NOW + skew)


def test_tampering_and_wrong_secrets_are_rejected() -> None:
    body = b'{"a":1}'
    headers = signing.headers([SECRET], "e3", NOW, body)
    with pytest.raises(signing.VerificationError, match="signature"):
        signing.verify(SECRET, headers, b'{"a":2}', now=NOW)
    with pytest.raises(signing.VerificationError, match="signature"):
        signing.verify(signing.new_secret(), headers, body, now=NOW)
    forged = {**headers, "webhook-timestamp": str(NOW + 1)}
    with pytest.raises(signing.VerificationError, match="signature"):
        signing.verify(SECRET, forged, body, now=NOW)
    with pytest.raises(signing.VerificationError, match="missing"):
        signing.verify(SECRET, {"webhook-id": "x"}, body, now=NOW)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b"{}"
    headers = signing.headers([new, old], "e4", NOW, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert signing.verify(old, headers, body, now=NOW) == "e4"
    assert signing.verify(new, headers, body, now=NOW) == "e4"


def test_secrets_must_be_whsec_base64_of_enough_bytes() -> None:
    assert signing.is_valid_secret(SECRET)
    assert not signing.is_valid_secret("whsec_c2hvcnQ=")  # 5 bytes
    assert not signing.is_valid_secret("not base64!")


@given(st.binary(max_size=2000), st.text(min_size=1, max_size=40).filter(lambda s: " " not in s))
def test_matches_the_spec_reference_implementation(body: bytes, msg_id: str) -> None:
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    theirs = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(NOW, UTC), body.decode("latin-1"))
    ours = signing.signature(SECRET, msg_id, NOW, body.decode("latin-1").encode())
    assert ours == theirs


def test_the_receiver_code_in_the_docs_works_as_documented() -> None:
    """docs/workflows.md gives integrators a Python verifier: run that exact code."""
    import re
    import time

    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "workflows.md").read_text("utf-8")
    [code] = [
        block for block in re.findall(r"```python\n(.*?)```", doc, re.S) if "def verify(" in block
    ]
    scope: dict[str, object] = {}
    exec(code, scope)  # noqa: S102 (our own documentation)
    verify = scope["verify"]
    now = int(time.time())
    body = b'{"id":"e9","type":"match.created"}'
    headers = signing.headers([SECRET], "e9", now, body)
    seen: set[str] = set()
    assert verify(SECRET, headers, body, seen) == "e9"  # type: ignore[operator]
    for bad_headers, bad_body, why in (
        (headers, body, "replayed"),
        (signing.headers([SECRET], "e10", now - 301, body), body, "stale"),
        (signing.headers([SECRET], "e11", now, body), b'{"id":"e11"}', "bad signature"),
    ):
        with pytest.raises(ValueError, match=why):
            verify(SECRET, bad_headers, bad_body, seen)  # type: ignore[operator]
