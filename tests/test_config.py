from __future__ import annotations

import pytest
from pydantic import ValidationError

from rapport.config import DEV_SECRET, Settings


def test_production_refuses_development_secret() -> None:
    with pytest.raises(ValidationError, match="RAPPORT_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="RAPPORT_SECRET_KEY"):
        Settings(env="production", secret_key="short")  # type: ignore[arg-type]


def test_production_refuses_wildcard_origins() -> None:
    with pytest.raises(ValidationError, match="CORS"):
        Settings(env="production", secret_key="x" * 40, cors_origins=["*"])  # type: ignore[arg-type]


def test_production_accepts_real_secret() -> None:
    s = Settings(env="production", secret_key="x" * 40)  # type: ignore[arg-type]
    assert s.env == "production"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_PORT", "9001")
    assert Settings().port == 9001


def test_argon2_minimums_enforced() -> None:
    with pytest.raises(ValidationError):
        Settings(argon2_memory_kib=1024)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(access_token_ttl_s=3600)  # type: ignore[arg-type]
