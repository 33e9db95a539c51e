"""Transport helpers shared by every domain's api.py: runtime access, the request transaction,
client identity, and RFC 9457 problem responses."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from rapport.kit.db import transaction
from rapport.kit.errors import RapportError

if TYPE_CHECKING:
    from rapport.runtime import Runtime

log = structlog.get_logger(__name__)
PROBLEM = "application/problem+json"


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated["Runtime", Depends(get_runtime)]


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: committed before the response is sent."""
    async with transaction(get_runtime(request).sessionmaker) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]


def client_ip(request: Request) -> str:
    """The peer address; X-Forwarded-For is honoured only from configured trusted proxies."""
    peer = request.client.host if request.client else "unknown"
    trusted = get_runtime(request).settings.trusted_proxies
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        candidate = forwarded.split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return peer
    return peer


def problem(
    status: int, code: str, detail: str, *, title: str | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://rapport.dev/problems/{code}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem JSON with a stable ``code``."""

    @app.exception_handler(RapportError)
    async def _rapport(request: Request, exc: RapportError) -> JSONResponse:
        response = problem(exc.status, exc.code, exc.message, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field(e.get("loc", ())),
                "message": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors})) or "request"
        return problem(422, "validation_error", f"Invalid input: {fields}.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
        }.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem(500, "internal_error", "Something went wrong on our side.")


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, plus a stable machine-readable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
    retry_after_s: int | None = None


_PROBLEM_TEXT = {
    400: "Bad request",
    401: "Not signed in, or the token is invalid, expired or revoked",
    403: "Not allowed",
    404: "Not found, or not visible to you",
    409: "Conflict",
    422: "Invalid input (errors name the fields)",
    429: "Rate limited (see Retry-After)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem JSON for the given statuses."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        s: {
            "description": _PROBLEM_TEXT[s],
            "model": Problem,
            "content": {PROBLEM: {"schema": schema}},
        }
        for s in statuses
    }


STANDARD_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 422, 429)
