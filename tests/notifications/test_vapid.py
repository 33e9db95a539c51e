"""VAPID keys: the formats accepted, the checks made at start-up, and `rapport vapid`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from rapport.config import Settings
from rapport.notifications.vapid import b64url, generate, load, parse_private_key, public_point
from tests.conftest import ROOT

SUBJECT = "mailto:ops@example.com"


def test_the_formats_of_one_key_agree() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = b64url(public_point(key.public_key()))
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sec1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    der = b64url(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for text in (raw, pem, sec1, der, pem.replace("\n", "\\n"), raw + "=" * 3):
        assert load(text, "", SUBJECT).public_key == public
    assert load(raw, public, SUBJECT).public_key == public


def test_bad_keys_and_subjects_are_refused() -> None:
    private, public = generate()
    _, other_public = generate()
    with pytest.raises(ValueError, match="does not belong"):
        load(private, other_public, SUBJECT)
    for bad in ("", "not-a-key!", b64url(os.urandom(31)), b64url(os.urandom(64))):
        with pytest.raises(ValueError, match="P-256"):
            parse_private_key(bad)
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="P-256"):
        parse_private_key(p384.decode())
    for subject in (
        "",
        "ops@example.com",
        "mailto:nobody",
        "https://example.com/contact",
        "http://example.com",
    ):
        with pytest.raises(ValueError, match="SUBJECT"):
            load(private, public, subject)
    assert (
        load(private, public, "https://rapport.example.com").subject
        == "https://rapport.example.com"
    )


def test_settings_refuse_a_bad_pair_without_echoing_the_secret() -> None:
    private, _ = generate()
    _, other_public = generate()
    with pytest.raises(ValidationError) as caught:
        Settings(vapid_private_key=private, vapid_public_key=other_public, vapid_subject=SUBJECT)  # type: ignore[arg-type]
    assert "does not belong" in str(caught.value)
    assert private not in str(caught.value) and private[:8] not in str(caught.value)
    with pytest.raises(ValidationError, match="without RAPPORT_VAPID_PRIVATE_KEY"):
        Settings(vapid_public_key=other_public)
    with pytest.raises(ValidationError, match="SUBJECT"):
        Settings(vapid_private_key=private)  # type: ignore[arg-type]
    assert Settings(vapid_private_key=private, vapid_subject=SUBJECT).vapid_subject == SUBJECT  # type: ignore[arg-type]


def test_cli_prints_a_working_pair() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "vapid", "--subject", "mailto:me@example.org"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.strip().splitlines())
    assert set(lines) == {
        "RAPPORT_VAPID_PRIVATE_KEY",
        "RAPPORT_VAPID_PUBLIC_KEY",
        "RAPPORT_VAPID_SUBJECT",
    }
    keys = load(
        lines["RAPPORT_VAPID_PRIVATE_KEY"],
        lines["RAPPORT_VAPID_PUBLIC_KEY"],
        lines["RAPPORT_VAPID_SUBJECT"],
    )
    assert len(base64.urlsafe_b64decode(keys.public_key + "=")) == 65
    again = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "vapid"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert lines["RAPPORT_VAPID_PRIVATE_KEY"] not in again.stdout  # a fresh pair each time
    bad = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "vapid", "--subject", "me"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
