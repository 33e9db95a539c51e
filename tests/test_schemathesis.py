"""Property-based API fuzzing: schemathesis drives a real `rapport serve` process from the
app's own OpenAPI schema (bounded examples per operation) and must find no 5xx and no
response that contradicts the schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from rapport.app import create_app
from tests.conftest import make_settings
from tests.live import live_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("RAPPORT_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def auth_headers(server: str) -> dict[str, str]:
    r = httpx.post(
        f"{server}/api/v1/auth/register",
        json={"email": "fuzz@example.com", "password": "fuzzing-password-1"},
    )
    assert r.status_code == 201, r.text
    token = r.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    profile = {
        "display_name": "Fuzz",
        "birth_date": "1990-01-01",
        "gender": "nonbinary",
        "seeking": {"genders": ["woman", "man", "nonbinary"], "age_min": 18, "age_max": 99},
        "location": {"lat": 31.2, "lon": 121.4},
    }
    assert httpx.patch(f"{server}/api/v1/me", json=profile, headers=headers).status_code == 200
    return headers


def _operations() -> list[object]:
    # The schema comes from the app itself; requests go to the live server.
    raw = create_app(make_settings()).openapi()
    loaded = schemathesis.openapi.from_dict(raw)
    # Logging out or erasing the fuzzing account would turn every later case into a 401;
    # both are covered by dedicated tests.
    loaded = loaded.exclude(path="/api/v1/auth/logout").exclude(path="/api/v1/me", method="DELETE")
    return [result.ok() for result in loaded.get_all_operations()]


OPERATIONS = _operations()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)  # type: ignore[attr-defined]
def test_api_never_fails_server_side(
    operation: Any, server: str, auth_headers: dict[str, str]
) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=server,
            headers=auth_headers,
            checks=[
                checks.not_a_server_error,
                checks.response_schema_conformance,
                checks.content_type_conformance,
            ],
        )

    run()
