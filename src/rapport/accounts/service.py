"""Accounts: registration, login, rotating refresh tokens, logout, access-token checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rapport.accounts import repository as repo
from rapport.accounts.models import AuthSession, RefreshToken, User
from rapport.accounts.passwords import PasswordHasher
from rapport.accounts.schemas import Preferences, PreferencesUpdate, TokenPair
from rapport.accounts.tokens import TokenCodec, hash_refresh_token, new_refresh_token
from rapport.config import Settings
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.kit.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized
from rapport.kit.ratelimit import Limiter, enforce

Factory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: who, and through which login session."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    role: str = "member"

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ClientInfo:
    ip: str
    user_agent: str | None = None


class AccountService:
    """Owns credentials and sessions; every other domain sees only :class:`Principal`."""

    def __init__(
        self, settings: Settings, hasher: PasswordHasher, limiter: Limiter, codec: TokenCodec
    ) -> None:
        self.settings = settings
        self.hasher = hasher
        self.limiter = limiter
        self.codec = codec

    async def register(
        self, session: AsyncSession, email: str, password: str, client: ClientInfo, locale: str
    ) -> tuple[User, TokenPair]:
        """Create an account and log it in; the same email cannot register twice."""
        s = self.settings
        await enforce(
            self.limiter,
            f"register:ip:{client.ip}",
            s.register_max_per_ip,
            s.register_ip_window_s,
            "registrations from this address",
        )
        email = email.strip().lower()
        # Hash before the first statement: the transaction (on SQLite, the write lock) must not
        # wait on Argon2.
        password_hash = await self.hasher.hash(password)
        if await repo.user_by_email(session, email) is not None:
            raise Conflict("An account with this email already exists.", code="email_taken")
        user = User(email=email, password_hash=password_hash, locale=locale)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(
                "An account with this email already exists.", code="email_taken"
            ) from exc
        emit(session, "user.registered", {"user_id": str(user.id), "locale": locale})
        return user, await self._open_session(session, user, client)

    async def login(
        self, factory: Factory, email: str, password: str, client: ClientInfo
    ) -> TokenPair:
        """Check credentials under per-IP and per-account attempt limits.

        The password is verified between two short transactions, never inside one.
        """
        s = self.settings
        email = email.strip().lower()
        account_key = f"login:acct:{email}"
        await enforce(
            self.limiter,
            f"login:ip:{client.ip}",
            s.login_max_attempts_per_ip,
            s.login_ip_window_s,
            "login attempts from this address",
        )
        wait = await self.limiter.peek(
            account_key, s.login_max_failures_per_account, s.login_account_window_s
        )
        if wait:
            raise RateLimited(
                f"Too many failed logins for this account; try again in {wait} s.",
                retry_after_s=wait,
                code="too_many_attempts",
            )
        async with transaction(factory) as session:
            user = await repo.user_by_email(session, email)
        if user is None or user.password_hash is None:
            await self.hasher.burn(password)
            await self.limiter.hit(
                account_key, s.login_max_failures_per_account, s.login_account_window_s
            )
            raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
        if not await self.hasher.verify(user.password_hash, password):
            await self.limiter.hit(
                account_key, s.login_max_failures_per_account, s.login_account_window_s
            )
            raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
        if user.status == "banned":
            raise Forbidden("This account is suspended.", code="account_banned")
        await self.limiter.reset(account_key)
        rehashed = (
            await self.hasher.hash(password)
            if self.hasher.needs_rehash(user.password_hash)
            else None
        )
        async with transaction(factory) as session:
            fresh = await repo.user_by_id(session, user.id)
            if fresh is None or fresh.status != "active":
                raise Unauthorized("This account cannot sign in.", code="account_inactive")
            if rehashed is not None:
                fresh.password_hash = rehashed
            return await self._open_session(session, fresh, client)

    async def refresh(self, session: AsyncSession, token: str) -> TokenPair:
        """Rotate a refresh token; reuse of a rotated one revokes its whole family."""
        now = clock.now()
        row = await repo.refresh_by_hash(session, hash_refresh_token(token))
        if row is None:
            raise Unauthorized("Refresh token invalid.", code="refresh_invalid")
        auth = await repo.session_by_id(session, row.session_id)
        if auth is None or auth.revoked_at is not None:
            raise Unauthorized("This session has ended.", code="session_revoked")
        if row.used_at is not None:
            await repo.revoke_session(session, auth.id, now, "refresh_reuse")
            self._announce_revoked(session, auth.user_id, [auth.id], "refresh_reuse")
            # The revocation must persist even though the caller gets an error.
            session.info["commit_on_error"] = True
            raise Unauthorized(
                "Refresh token was already used; the session has been revoked.",
                code="refresh_reused",
            )
        if row.expires_at <= now or auth.expires_at <= now:
            raise Unauthorized("Refresh token expired.", code="refresh_expired")
        user = await repo.user_by_id(session, auth.user_id)
        if user is None or user.status != "active":
            raise Unauthorized("This account cannot sign in.", code="account_inactive")
        row.used_at = now
        auth.last_used_at = now
        return await self._issue(session, auth)

    async def logout(self, session: AsyncSession, principal: Principal, everywhere: bool) -> int:
        """End this login session (or every session of the user)."""
        now = clock.now()
        if everywhere:
            ids = await repo.revoke_user_sessions(session, principal.user_id, now, "logout_all")
        else:
            await repo.revoke_session(session, principal.session_id, now, "logout")
            ids = [principal.session_id]
        self._announce_revoked(
            session, principal.user_id, ids, "logout_all" if everywhere else "logout"
        )
        return len(ids)

    async def authenticate(self, session: AsyncSession, token: str) -> Principal:
        """Verify an access token and that its session and user are still live."""
        claims = self.codec.verify(token)
        auth = await repo.session_by_id(session, claims.session_id)
        if auth is None or auth.user_id != claims.user_id or auth.revoked_at is not None:
            raise Unauthorized("This session has ended.", code="session_revoked")
        user = await repo.user_by_id(session, claims.user_id)
        if user is None or user.status != "active":
            raise Unauthorized("This account cannot sign in.", code="account_inactive")
        now = clock.now()
        if now - user.last_active_at > timedelta(minutes=5):
            user.last_active_at = now
        return Principal(user_id=claims.user_id, session_id=claims.session_id, role=user.role)

    async def verify_password(self, session: AsyncSession, user_id: uuid.UUID, pw: str) -> None:
        """Re-check the password before a destructive action (limited like logins)."""
        s = self.settings
        await enforce(
            self.limiter,
            f"confirm:{user_id}",
            s.login_max_failures_per_account,
            s.login_account_window_s,
            "password confirmations",
        )
        user = await repo.user_by_id(session, user_id)
        if (
            user is None
            or user.password_hash is None
            or not await self.hasher.verify(user.password_hash, pw)
        ):
            raise Forbidden("Password confirmation failed.", code="password_mismatch")

    async def _open_session(
        self, session: AsyncSession, user: User, client: ClientInfo
    ) -> TokenPair:
        now = clock.now()
        auth = AuthSession(
            user_id=user.id,
            expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_s),
            ip=client.ip[:64],
            user_agent=(client.user_agent or "")[:255] or None,
        )
        session.add(auth)
        await session.flush()
        return await self._issue(session, auth)

    async def _issue(self, session: AsyncSession, auth: AuthSession) -> TokenPair:
        now = clock.now()
        refresh = new_refresh_token()
        refresh_expires: datetime = min(
            auth.expires_at, now + timedelta(seconds=self.settings.refresh_token_ttl_s)
        )
        session.add(
            RefreshToken(
                session_id=auth.id,
                token_hash=hash_refresh_token(refresh),
                expires_at=refresh_expires,
            )
        )
        await session.flush()
        access, access_expires = self.codec.issue(auth.user_id, auth.id)
        return TokenPair(
            access_token=access,
            access_expires_at=access_expires,
            refresh_token=refresh,
            refresh_expires_at=refresh_expires,
            user_id=auth.user_id,
        )

    @staticmethod
    def _announce_revoked(
        session: AsyncSession, user_id: uuid.UUID, session_ids: list[uuid.UUID], reason: str
    ) -> None:
        emit(
            session,
            "auth.sessions_revoked",
            {
                "user_id": str(user_id),
                "session_ids": [str(i) for i in session_ids],
                "reason": reason,
            },
        )


async def activity(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, datetime]]:
    """Status and last activity of each user, for ranking and visibility checks."""
    return await repo.activity_of(session, user_ids)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The account row, or None."""
    return await repo.user_by_id(session, user_id)


async def set_locale(session: AsyncSession, user_id: uuid.UUID, locale: str) -> None:
    """Change the user's interface language."""
    user = await repo.user_by_id(session, user_id)
    if user is not None:
        user.locale = locale


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> Preferences:
    """The user's privacy switches."""
    user = await repo.user_by_id(session, user_id)
    if user is None:
        raise Unauthorized("This account cannot sign in.", code="account_inactive")
    return _prefs(user)


async def update_preferences(
    session: AsyncSession, user_id: uuid.UUID, patch: PreferencesUpdate
) -> Preferences:
    """Change privacy switches; announces the change so live peers can be updated."""
    user = await repo.user_by_id(session, user_id)
    if user is None:
        raise Unauthorized("This account cannot sign in.", code="account_inactive")
    if patch.read_receipts is not None:
        user.read_receipts = patch.read_receipts
    if patch.show_presence is not None:
        user.show_presence = patch.show_presence
    if patch.ai_enabled is not None:
        user.ai_enabled = patch.ai_enabled
    if patch.automation_enabled is not None:
        user.automation_enabled = patch.automation_enabled
    prefs = _prefs(user)
    emit(session, "user.preferences_changed", {"user_id": str(user_id), **prefs.model_dump()})
    return prefs


async def preferences_of(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Preferences]:
    """Privacy switches of several users (missing users absent)."""
    return {u.id: _prefs(u) for u in await repo.users_by_ids(session, user_ids)}


def _prefs(user: User) -> Preferences:
    return Preferences(
        read_receipts=user.read_receipts,
        show_presence=user.show_presence,
        ai_enabled=user.ai_enabled,
        automation_enabled=user.automation_enabled,
    )


async def automation_opted_out(session: AsyncSession, user_ids: set[str]) -> set[str]:
    """Of these user ids, the ones that turned automation off."""
    ids = [uuid.UUID(u) for u in user_ids]
    return {str(u.id) for u in await repo.users_by_ids(session, ids) if not u.automation_enabled}


async def live_sessions(session: AsyncSession, session_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of these login sessions, the ones still valid (not revoked or expired, account active)."""
    return await repo.live_session_ids(session, session_ids, clock.now())


async def set_role(session: AsyncSession, email: str, role: str) -> bool:
    """Give the account with ``email`` a role; False when there is no such account."""
    user = await repo.user_by_email(session, email.strip().lower())
    if user is None:
        return False
    user.role = role
    return True


async def suspend(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Ban an account: it can no longer sign in or refresh, and every login session ends now
    (sockets on this node close at once, on other nodes at their next re-check)."""
    user = await repo.user_by_id(session, user_id)
    if user is None or user.status == "erased":
        return False
    user.status = "banned"
    ids = await repo.revoke_user_sessions(session, user_id, clock.now(), "banned")
    emit(
        session,
        "auth.sessions_revoked",
        {"user_id": str(user_id), "session_ids": [str(i) for i in ids], "reason": "banned"},
    )
    return True


async def reinstate(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Lift a ban: the account may sign in again (its old sessions stay ended)."""
    user = await repo.user_by_id(session, user_id)
    if user is None or user.status != "banned":
        return False
    user.status = "active"
    return True


async def set_verified(
    session: AsyncSession, user_id: uuid.UUID, verified: bool
) -> datetime | None:
    """Mark the person verified (or not); returns the verification time."""
    user = await repo.user_by_id(session, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    if not verified:
        user.verified_at = None
    elif user.verified_at is None:
        user.verified_at = clock.now()
    return user.verified_at
