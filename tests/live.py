"""A real `rapport serve` process on a free loopback port, for black-box tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the server, yield its base URL, stop it."""
    port = _free_port()
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path_factory.mktemp("fuzz")),
        "RAPPORT_DATABASE_URL": "",
        "RAPPORT_ENV": "test",
        "RAPPORT_LOG_LEVEL": "WARNING",
    }
    log = tmp_path_factory.mktemp("fuzz-log") / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {log.read_text()}")
    yield base
    proc.terminate()
    proc.wait(timeout=20)
