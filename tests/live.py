"""Real `rapport serve` processes on free loopback ports, for black-box tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A server process; ``start`` waits for /healthz, ``kill`` is SIGKILL (no cleanup)."""

    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        with self.log.open("a") as sink:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rapport.cli", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.kill()
        pytest.fail(f"server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)


def make_server(tmp: Path, **env: str) -> LiveServer:
    """A server on a fresh SQLite file under ``tmp`` (override with RAPPORT_* keywords)."""
    tmp.mkdir(parents=True, exist_ok=True)
    full = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp),
        "RAPPORT_DATABASE_URL": "",
        "RAPPORT_ENV": "test",
        "RAPPORT_LOG_LEVEL": "WARNING",
        # Tests register many accounts from 127.0.0.1.
        "RAPPORT_REGISTER_MAX_PER_IP": "100000",
        "RAPPORT_LOGIN_MAX_ATTEMPTS_PER_IP": "100000",
        **env,
    }
    return LiveServer(port=free_port(), env=full, log=tmp / "server.log")


def live_server(tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[str]:
    """Start a server, yield its base URL, stop it."""
    server = make_server(tmp_path_factory.mktemp("live"), **env).start()
    try:
        yield server.url
    finally:
        server.stop()


def cluster_db_url(name: str) -> str:
    """A freshly created PostgreSQL database ``name`` next to the test database, for
    multi-process tests that share PostgreSQL and Redis (skipped when either is not set)."""
    from tests.conftest import PG_URL, REDIS_URL

    if not PG_URL or not REDIS_URL:
        pytest.skip("RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_REDIS_URL are needed")
    return fresh_pg_url(name)


def backend_env(backend: str, name: str) -> dict[str, str]:
    """Settings that put a live server on ``backend`` (a BACKENDS value): nothing for its
    default SQLite file, a fresh PostgreSQL database ``name`` otherwise (skipped unset)."""
    if backend == "sqlite":
        return {}
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("RAPPORT_TEST_DATABASE_URL is not set: PostgreSQL variants skipped")
    return {"RAPPORT_DATABASE_URL": fresh_pg_url(name)}


def fresh_pg_url(name: str) -> str:
    """Drop and create the PostgreSQL database ``name`` next to the test database."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_URL

    url = make_url(PG_URL)

    async def recreate() -> None:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    # Its own thread and loop, so that async tests (with a running loop) may call it too.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, recreate()).result()
    return url.set(database=name).render_as_string(hide_password=False)
