"""FastAPI dependencies: the account service and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rapport.accounts.service import AccountService, ClientInfo, Principal
from rapport.kit.db import transaction
from rapport.kit.errors import Forbidden, Unauthorized
from rapport.kit.http import RuntimeDep, client_ip

bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


def account_service(rt: RuntimeDep) -> AccountService:
    return rt.accounts


Accounts = Annotated[AccountService, Depends(account_service)]


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


Client = Annotated[ClientInfo, Depends(client_info)]


async def current_principal(
    rt: RuntimeDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, checked in a short transaction of its own (so a route may call slow
    services, such as a remote AI provider, without holding the request's transaction)."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    async with transaction(rt.sessionmaker) as session:
        return await rt.accounts.authenticate(session, creds.credentials)


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def current_moderator(user: CurrentUser) -> Principal:
    """A caller with the moderator or admin role (the moderation queue)."""
    if not user.is_moderator:
        raise Forbidden("This needs the moderator role.", code="role_required")
    return user


async def current_admin(user: CurrentUser) -> Principal:
    """A caller with the admin role (webhooks, API keys, sanctions, word lists)."""
    if not user.is_admin:
        raise Forbidden("This needs the admin role.", code="role_required")
    return user


ModeratorUser = Annotated[Principal, Depends(current_moderator)]
AdminUser = Annotated[Principal, Depends(current_admin)]
