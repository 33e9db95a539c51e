"""The web client is served at / from RAPPORT_WEB_DIST: files, SPA fallback, a build hint when
the build is missing, and the API's own 404 / 405 problem JSON left untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from rapport import webui
from rapport.app import create_app
from tests.conftest import make_settings

INDEX = "<!doctype html><html><body><div id=root></div><script src=/assets/app-1a2b.js></script>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1a2b.js").write_text("console.log('app')")
    (root / "sw.js").write_text("self.addEventListener('push', () => {})")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


@pytest.fixture
async def web(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(create_app(make_settings(web_dist=dist))):
        yield c


@pytest.fixture
async def unbuilt(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(create_app(make_settings(web_dist=tmp_path / "nowhere"))):
        yield c


async def test_index_and_assets_are_served(web: httpx.AsyncClient) -> None:
    r = await web.get("/")
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"

    asset = await web.get("/assets/app-1a2b.js")
    assert asset.status_code == 200
    assert asset.text == "console.log('app')"
    assert "immutable" in asset.headers["cache-control"]

    sw = await web.get("/sw.js")
    assert sw.status_code == 200
    assert sw.headers["cache-control"] == "no-cache"

    head = await web.head("/")
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize(
    "path", ["/chats", "/chats/0c6d3e9a-1f4b-4a55-9d6e-2b1f0a9c7d11", "/login"]
)
async def test_client_routes_fall_back_to_index(web: httpx.AsyncClient, path: str) -> None:
    r = await web.get(path)
    assert r.status_code == 200
    assert r.text == INDEX


async def test_missing_file_is_a_404_not_the_index(web: httpx.AsyncClient) -> None:
    r = await web.get("/assets/app-old.js")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"]
)
async def test_nothing_outside_the_build_is_served(web: httpx.AsyncClient, path: str) -> None:
    r = await web.get(path)
    assert "outside the build" not in r.text


async def test_api_paths_keep_problem_json(web: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nope", "/api/nope", "/socket.io/nope", "/healthz/x", "/docs/nope"):
        r = await web.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json"), path
        assert r.json()["code"] == "not_found", path
    wrong_method = await web.delete("/api/v1/interests")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    # A POST to a client route is not the client's business either.
    assert (await web.post("/chats")).status_code in (404, 405)


async def test_api_routes_keep_priority(web: httpx.AsyncClient) -> None:
    r = await web.get("/api/v1/interests")
    assert r.status_code == 200
    assert r.json()["tags"]
    assert (await web.get("/healthz")).json()["status"] == "ok"
    assert "/api/v1/auth/login" in (await web.get("/openapi.json")).json()["paths"]
    assert (await web.get("/docs")).status_code == 200


async def test_missing_build_says_how_to_build(unbuilt: httpx.AsyncClient) -> None:
    for path in ("/", "/chats"):
        r = await unbuilt.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "npm ci &amp;&amp; npm run build" in r.text
        assert "./scripts/serve" in r.text
    assert (await unbuilt.get("/healthz")).status_code == 200
    assert (await unbuilt.get("/api/v1/nope")).json()["code"] == "not_found"


def test_missing_build_warns_once_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_app(make_settings(web_dist=tmp_path / "nowhere"))
    out = capsys.readouterr()
    text = out.out + out.err
    assert text.count("web_client_missing") == 1
    assert "npm run build" in text


def test_default_dist_is_the_repository_build() -> None:
    assert webui.resolve_dist(None) == Path(__file__).resolve().parent.parent / "web" / "dist"
    assert make_settings().web_dist is None
    assert make_settings(web_dist="").web_dist is None
