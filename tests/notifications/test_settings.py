"""Preferences: defaults, partial updates, validation, and quiet hours on the injected clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from rapport.notifications.models import NotificationPreference
from rapport.notifications.service import in_quiet_hours
from tests.factories import register

URL = "/api/v1/me/notification-settings"
DEFAULTS = {"messages": True, "matches": True, "reminders": True, "quiet_hours": None}


async def test_defaults_and_partial_updates(client: httpx.AsyncClient) -> None:
    user = await register(client)
    assert (await client.get(URL, headers=user.headers)).json() == DEFAULTS
    quiet = {"start": "22:00", "end": "08:00", "timezone": "Asia/Shanghai"}
    r = await client.patch(URL, headers=user.headers, json={"matches": False, "quiet_hours": quiet})
    assert r.status_code == 200
    assert r.json() == {**DEFAULTS, "matches": False, "quiet_hours": quiet}
    # Fields not sent stay as they were.
    r = await client.patch(URL, headers=user.headers, json={"reminders": False})
    assert r.json() == {**DEFAULTS, "matches": False, "reminders": False, "quiet_hours": quiet}
    # null turns quiet hours off.
    r = await client.patch(URL, headers=user.headers, json={"quiet_hours": None})
    assert r.json()["quiet_hours"] is None
    assert (await client.get(URL, headers=user.headers)).json() == {
        **DEFAULTS,
        "matches": False,
        "reminders": False,
    }
    other = await register(client)
    assert (await client.get(URL, headers=other.headers)).json() == DEFAULTS


@pytest.mark.parametrize(
    "quiet",
    [
        {"start": "24:00", "end": "08:00", "timezone": "UTC"},
        {"start": "7:00", "end": "08:00", "timezone": "UTC"},
        {"start": "22:60", "end": "08:00", "timezone": "UTC"},
        {"start": "22:00", "end": "22:00", "timezone": "UTC"},
        {"start": "22:00", "end": "08:00", "timezone": "Mars/Olympus_Mons"},
        {"start": "22:00", "end": "08:00", "timezone": "Asia"},
        {"start": "22:00", "end": "08:00", "timezone": "../../etc/passwd"},
        {"start": "22:00", "end": "08:00", "timezone": ""},
        {"start": "22:00", "end": "08:00"},
        {"start": "22:00", "end": "08:00", "timezone": "UTC", "days": [1]},
    ],
)
async def test_invalid_quiet_hours_are_refused(
    client: httpx.AsyncClient, quiet: dict[str, object]
) -> None:
    user = await register(client)
    r = await client.patch(URL, headers=user.headers, json={"quiet_hours": quiet})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert (await client.get(URL, headers=user.headers)).json() == DEFAULTS


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    r = await client.patch(URL, headers=user.headers, json={"promotions": True})
    assert r.status_code == 422


def prefs(start: str, end: str, tz: str) -> NotificationPreference:
    return NotificationPreference(
        user_id=uuid.uuid4(), quiet_start=start, quiet_end=end, quiet_timezone=tz
    )


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        # 22:00-08:00 in Shanghai (UTC+8) is 14:00-24:00 UTC.
        ("2026-03-01T13:59", False),
        ("2026-03-01T14:00", True),  # 22:00 local: start is inclusive
        ("2026-03-01T18:30", True),  # 02:30 local, after midnight
        ("2026-03-01T23:59", True),  # 07:59 local
        ("2026-03-02T00:00", False),  # 08:00 local: end is exclusive
        ("2026-03-02T04:00", False),  # noon local
    ],
)
def test_window_crossing_midnight(utc: str, quiet: bool) -> None:
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert in_quiet_hours(prefs("22:00", "08:00", "Asia/Shanghai"), at) is quiet


def test_window_within_a_day_and_no_window() -> None:
    p = prefs("13:00", "14:30", "UTC")
    assert not in_quiet_hours(p, datetime(2026, 3, 1, 12, 59, tzinfo=UTC))
    assert in_quiet_hours(p, datetime(2026, 3, 1, 13, 0, tzinfo=UTC))
    assert in_quiet_hours(p, datetime(2026, 3, 1, 14, 29, tzinfo=UTC))
    assert not in_quiet_hours(p, datetime(2026, 3, 1, 14, 30, tzinfo=UTC))
    assert not in_quiet_hours(None, datetime(2026, 3, 1, 13, 30, tzinfo=UTC))
    # Daylight saving: 01:00-06:00 in New York is 06:00 UTC in winter, 05:00 UTC in summer.
    ny = prefs("01:00", "06:00", "America/New_York")
    assert in_quiet_hours(ny, datetime(2026, 1, 15, 6, 30, tzinfo=UTC))
    assert not in_quiet_hours(ny, datetime(2026, 7, 15, 10, 30, tzinfo=UTC))
    assert in_quiet_hours(ny, datetime(2026, 7, 15, 9, 30, tzinfo=UTC))
