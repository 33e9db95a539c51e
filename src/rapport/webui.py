"""Serves the web client (``web/dist``, built by Vite) at ``/`` from the same origin as the API.

One route is added after every API router, so the API keeps priority: it answers ``GET``/``HEAD``
for any path outside the server's own prefixes (``/api``, ``/socket.io``, ``/docs``,
``/openapi.json``, ``/healthz``, ``/readyz``). A file of the build is sent as is (hashed assets
cached for a year); any other path without a file extension gets ``index.html`` so the client's
router can take over (SPA fallback). Paths it does not claim fall through to the normal 404 /
405 problem JSON. When the build is missing, the server still starts: a warning is logged once
and the pages say how to build the client.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

log = structlog.get_logger(__name__)

REPO_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
RESERVED = ("/api", "/socket.io", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics")
BUILD_HINT = "cd web && npm ci && npm run build"
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"

MISSING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapport: web client not built</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1.25rem;
color:#1f2430}}code{{background:#f1f2f6;padding:.15rem .4rem;border-radius:.3rem}}
pre{{background:#f1f2f6;padding:1rem;border-radius:.5rem;overflow:auto}}
</style></head><body>
<h1>Rapport is running</h1>
<p>The web client has not been built yet, so there is nothing to show here. The API is up:
see <a href="/docs">/docs</a>.</p>
<p>Build the client (needs Node.js 20 and npm), then reload this page:</p>
<pre>{hint}</pre>
<p><code>./scripts/serve</code> builds it for you when Node.js is installed. Looked for
<code>{dist}</code> (setting <code>RAPPORT_WEB_DIST</code>).</p>
</body></html>
"""


def resolve_dist(configured: Path | None) -> Path:
    """The build directory: the setting when given, else the repository's ``web/dist``."""
    return (configured if configured is not None else REPO_DIST).expanduser().resolve()


def is_reserved(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in RESERVED)


class WebClientRoute(BaseRoute):
    """GET/HEAD of every non-API path: a file of the build, or ``index.html``."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.index = dist / "index.html"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and not is_reserved(scope["path"])
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.respond(scope["path"])
        await response(scope, receive, send)

    def respond(self, path: str) -> Response:
        if not self.index.is_file():
            page = MISSING_PAGE.format(
                hint=html.escape(BUILD_HINT), dist=html.escape(str(self.dist))
            )
            return HTMLResponse(page, headers={"Cache-Control": NO_CACHE})
        found = self.lookup(path)
        if found is not None:
            cache = IMMUTABLE if found.parent.name == "assets" else NO_CACHE
            return FileResponse(found, headers={"Cache-Control": cache})
        if "." in PurePosixPath(path).name:
            # A missing file (e.g. an old hashed asset): a real 404, never index.html.
            raise HTTPException(404, "No such file.")
        return FileResponse(self.index, headers={"Cache-Control": NO_CACHE})

    def lookup(self, path: str) -> Path | None:
        """The file under ``dist`` for a URL path, refusing anything that escapes it."""
        parts = [p for p in PurePosixPath(path).parts if p not in ("/", "")]
        if not parts or any(p in (".", "..") or "\\" in p for p in parts):
            return None
        candidate = self.dist.joinpath(*parts).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate


def install(app: FastAPI, dist: Path | None) -> None:
    """Add the web client route last; warn once at start when the build is missing."""
    root = resolve_dist(dist)
    if not (root / "index.html").is_file():
        log.warning(
            "web_client_missing",
            dist=str(root),
            hint=f"{BUILD_HINT} (./scripts/serve does it when Node.js is installed)",
        )
    app.router.routes.append(WebClientRoute(root))
