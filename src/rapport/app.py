"""Builds the ASGI app: FastAPI with every domain's router, and the node's runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text

from rapport import __version__, webui
from rapport.accounts.api import router as auth_router
from rapport.accounts.api import settings_router
from rapport.ai import tasks as ai_tasks
from rapport.ai.api import router as ai_router
from rapport.chat.api import router as chat_router
from rapport.config import Settings, get_settings
from rapport.kit import gctune, looplag
from rapport.kit.http import RuntimeDep, install_error_handlers, problem
from rapport.kit.logging import configure_logging
from rapport.matching.api import router as matching_router
from rapport.moderation import tasks as moderation_tasks
from rapport.moderation.admin_api import router as moderation_admin_router
from rapport.moderation.api import router as moderation_router
from rapport.notifications import tasks as notification_tasks
from rapport.notifications.api import push_router
from rapport.notifications.api import router as notifications_router
from rapport.notifications.api import settings_router as notification_settings_router
from rapport.privacy.api import router as privacy_router
from rapport.profiles.api import router as profiles_router
from rapport.runtime import Runtime, build_runtime
from rapport.workflows import tasks as workflows_tasks
from rapport.workflows.api import admin as workflows_admin_router
from rapport.workflows.api import automation as automation_router

DESCRIPTION = """Rapport's REST API. Errors are RFC 9457 problem JSON with a stable `code`.
Authenticate with `Authorization: Bearer <access token>` from `/api/v1/auth/login`."""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The app for one node. Tests pass a prepared ``runtime``; otherwise it is built at start."""
    settings = settings or (runtime.settings if runtime else get_settings())
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(settings)
        app.state.runtime = rt
        for hook in app.state.on_runtime:
            hook(rt)
        if settings.gc_tuning:
            gctune.tune()
            rt.spawn(gctune.collect_in_lulls())
        rt.spawn(looplag.watch(stall_ms=settings.loop_stall_log_ms))
        try:
            yield
        finally:
            if runtime is None:
                await rt.close()

    app = FastAPI(
        title="Rapport",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    # Transports that need the node's runtime (e.g. Socket.IO fan-out) register here; the
    # lifespan calls each once the runtime exists.
    app.state.on_runtime = [
        ai_tasks.install,
        workflows_tasks.install,
        notification_tasks.install,
        moderation_tasks.install,
    ]
    if runtime is not None:
        app.state.runtime = runtime
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    install_error_handlers(app)
    for router in (
        auth_router,
        settings_router,
        profiles_router,
        matching_router,
        chat_router,
        ai_router,
        moderation_router,
        moderation_admin_router,
        privacy_router,
        notifications_router,
        notification_settings_router,
        push_router,
        workflows_admin_router,
        automation_router,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process is serving."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "Database unreachable"}})
    async def readyz(rt: RuntimeDep) -> JSONResponse:
        """Readiness: the database answers."""
        try:
            async with rt.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return problem(503, "database_unavailable", "The database is not reachable.")
        return JSONResponse({"status": "ready", "database": rt.engine.dialect.name})

    webui.install(app, settings.web_dist)  # last: every API route keeps priority
    return app


def create_asgi(settings: Settings | None = None) -> socketio.ASGIApp:
    """The served app: Socket.IO at /socket.io in front of the REST app."""
    from rapport.realtime.server import create_socket_server

    api = create_app(settings)
    return socketio.ASGIApp(create_socket_server(api), other_asgi_app=api)
