"""HTTP routes of accounts: /api/v1/auth/*."""

from __future__ import annotations

from fastapi import APIRouter, status

from rapport.accounts import service
from rapport.accounts.deps import Accounts, Client, CurrentUser
from rapport.accounts.schemas import (
    LoggedOut,
    LoginRequest,
    Preferences,
    PreferencesUpdate,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
)
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=STANDARD_PROBLEMS)


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(
    body: RegisterRequest, session: DbSession, accounts: Accounts, client: Client
) -> TokenPair:
    """Create an account with email and password; returns a first token pair."""
    _, tokens = await accounts.register(session, body.email, body.password, client, body.locale)
    return tokens


@router.post("/login")
async def login(
    body: LoginRequest, rt: RuntimeDep, accounts: Accounts, client: Client
) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return await accounts.login(rt.sessionmaker, body.email, body.password, client)


@router.post("/refresh")
async def refresh(body: RefreshRequest, session: DbSession, accounts: Accounts) -> TokenPair:
    """Rotate a refresh token. Presenting an already-rotated token revokes that session."""
    return await accounts.refresh(session, body.refresh_token)


@router.post("/logout")
async def logout(
    session: DbSession, accounts: Accounts, me: CurrentUser, everywhere: bool = False
) -> LoggedOut:
    """End this session, or with ``everywhere=true`` every session of the account."""
    return LoggedOut(revoked_sessions=await accounts.logout(session, me, everywhere))


settings_router = APIRouter(prefix="/api/v1/me", tags=["auth"], responses=STANDARD_PROBLEMS)


@settings_router.get("/settings")
async def get_preferences(session: DbSession, me: CurrentUser) -> Preferences:
    """Your privacy switches: read receipts and presence (both symmetric)."""
    return await service.preferences(session, me.user_id)


@settings_router.patch("/settings")
async def patch_preferences(
    body: PreferencesUpdate, session: DbSession, me: CurrentUser
) -> Preferences:
    """Turn read receipts or presence on or off."""
    return await service.update_preferences(session, me.user_id, body)
