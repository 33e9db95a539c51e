"""Typed domain errors. Each carries a stable code and the HTTP status it maps to.

REST renders them as RFC 9457 problem JSON; sockets as ``{ok: false, error: {code, message}}``.
A 500 is always a bug.
"""

from __future__ import annotations

from typing import Any


class RapportError(Exception):
    """Base error: ``code`` is stable API, ``message`` is for humans."""

    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers: dict[str, str] = {}

    def to_socket(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message, **self.extra}}


class BadRequest(RapportError):
    code = "bad_request"
    status = 400


class Unauthorized(RapportError):
    code = "unauthorized"
    status = 401


class Forbidden(RapportError):
    code = "forbidden"
    status = 403


class NotFound(RapportError):
    code = "not_found"
    status = 404


class Conflict(RapportError):
    code = "conflict"
    status = 409


class Unprocessable(RapportError):
    code = "invalid"
    status = 422


class RateLimited(RapportError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code, extra={"retry_after_s": retry_after_s})
        self.headers["Retry-After"] = str(retry_after_s)
