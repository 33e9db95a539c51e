from __future__ import annotations

import httpx

from rapport.app import create_app
from tests.conftest import make_settings


async def test_healthz_and_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/auth/login" in schema["paths"]


async def test_readyz_reports_database(tmp_path: object) -> None:
    app = create_app(make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/r.db"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "database": "sqlite"}


async def test_readyz_fails_when_database_is_down() -> None:
    app = create_app(make_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "database_unavailable"


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
