"""Notification tests run with VAPID configured and a local push service (pushstub.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rapport.config import Settings
from rapport.notifications.vapid import generate
from tests.conftest import make_settings
from tests.notifications.pushstub import PushStub

VAPID_PRIVATE, VAPID_PUBLIC = generate()
SUBJECT = "mailto:push-ops@rapport.test"


@pytest.fixture
def settings() -> Settings:
    return make_settings(
        vapid_private_key=VAPID_PRIVATE,
        vapid_subject=SUBJECT,
        push_allowed_http_hosts=["127.0.0.1"],
        push_timeout_s=5,
    )


@pytest.fixture(scope="session")
def pushstub() -> Iterator[PushStub]:
    stub = PushStub(VAPID_PUBLIC, SUBJECT).start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def other_pushstub() -> Iterator[PushStub]:
    """A second push service (another origin), so ``aud`` must differ per subscription."""
    stub = PushStub(VAPID_PUBLIC, SUBJECT).start()
    yield stub
    stub.stop()
