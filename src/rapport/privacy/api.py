"""HTTP routes for the user's privacy rights: export and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from rapport.accounts.deps import Accounts, CurrentUser
from rapport.accounts.schemas import PasswordConfirmation
from rapport.kit.http import STANDARD_PROBLEMS, DbSession
from rapport.privacy import service

router = APIRouter(prefix="/api/v1/me", tags=["privacy"], responses=STANDARD_PROBLEMS)


class Erased(BaseModel):
    erased: bool
    removed: dict[str, int]
    rule: str


@router.get("/export")
async def export_me(session: DbSession, me: CurrentUser) -> dict[str, Any]:
    """Everything held on you, as JSON (GDPR Art. 15 / 20, PIPL Art. 45)."""
    return await service.export(session, me.user_id)


@router.delete("")
async def delete_me(
    body: PasswordConfirmation, session: DbSession, me: CurrentUser, accounts: Accounts
) -> Erased:
    """Erase your account after confirming your password; says what was removed."""
    await accounts.verify_password(session, me.user_id, body.password)
    removed = await service.erase(session, me.user_id)
    return Erased(erased=True, removed=removed, rule=service.ERASURE_RULE)
