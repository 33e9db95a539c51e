"""Request and response payloads of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _email(value: str) -> str:
    """Syntax check only (no DNS): self-hosters may use internal or .test domains."""
    try:
        result = validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: str = Field(min_length=10, max_length=256)


class RegisterRequest(Credentials):
    locale: Literal["en", "zh-CN"] = "en"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=16, max_length=256)


class TokenPair(BaseModel):
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user_id: uuid.UUID


class LoggedOut(BaseModel):
    ok: Literal[True] = True
    revoked_sessions: int


class PasswordConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=256)


class Preferences(BaseModel):
    """Privacy switches. Both are symmetric: turn one off and you stop seeing it from others."""

    read_receipts: bool = Field(description="Send and receive read receipts")
    show_presence: bool = Field(description="Show and see online status and last seen")
    ai_enabled: bool = Field(
        default=True, description="Use the AI assistant; off = none of your text goes to AI"
    )
    automation_enabled: bool = Field(
        default=True,
        description="Let events about you reach the operator's automations (webhooks); "
        "off = no webhook carries your activity",
    )


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read_receipts: bool | None = None
    show_presence: bool | None = None
    ai_enabled: bool | None = None
    automation_enabled: bool | None = None
