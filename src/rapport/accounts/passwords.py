"""Argon2id password hashing, run in a worker thread so the event loop keeps serving."""

from __future__ import annotations

import asyncio

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PasswordHasher:
    """Argon2id with OWASP minimums enforced (m >= 19 MiB, t >= 2)."""

    def __init__(self, *, time_cost: int = 2, memory_kib: int = 19456, parallelism: int = 1):
        if memory_kib < 19456 or time_cost < 2:
            raise ValueError("Argon2id parameters below the OWASP minimum (m=19 MiB, t=2)")
        self._ph = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._ph.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        def _verify() -> bool:
            try:
                return self._ph.verify(stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(_verify)

    def needs_rehash(self, stored: str) -> bool:
        return self._ph.check_needs_rehash(stored)

    async def burn(self, password: str) -> None:
        """Spend the cost of one verification so unknown accounts answer as slowly as known."""
        if self._dummy is None:
            self._dummy = await self.hash("rapport-timing-equaliser")
        await self.verify(self._dummy, password)
