"""Socket.IO contract against a live server with the stock npm socket.io-client (Node).

The Node side is tests/js/client.test.mjs (``node --test``); this test starts the server,
creates and matches two users over REST and hands their tokens to it through the environment.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import profile
from tests.live import ROOT, live_server

JS_DIR = ROOT / "tests" / "js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        NODE is None, reason="node is not on PATH: the Node socket.io-client test is skipped"
    ),
    pytest.mark.skipif(
        not (JS_DIR / "node_modules" / "socket.io-client").is_dir(),
        reason="tests/js/node_modules is missing: run scripts/test, which installs it",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from live_server(tmp_path_factory)


async def _user(base: str, **overrides: Any) -> tuple[str, str]:
    """Register a user with a complete profile; return (user_id, access_token)."""
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/v1/auth/register",
            json={"email": f"js-{uuid.uuid4().hex[:10]}@example.com", "password": "js-password-1"},
        )
        assert r.status_code == 201, r.text
        token: str = r.json()["access_token"]
        p = await http.patch(
            "/api/v1/me", json=profile(**overrides), headers={"Authorization": f"Bearer {token}"}
        )
        assert p.status_code == 200, p.text
        return r.json()["user_id"], token


async def _matched_pair(base: str) -> dict[str, Any]:
    a_id, a_tok = await _user(base)
    b_id, b_tok = await _user(
        base, gender="man", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    async with httpx.AsyncClient(base_url=base) as http:
        r1 = await http.post(
            f"/api/v1/users/{b_id}/like", headers={"Authorization": f"Bearer {a_tok}"}
        )
        assert r1.status_code == 200, r1.text
        r2 = await http.post(
            f"/api/v1/users/{a_id}/like", headers={"Authorization": f"Bearer {b_tok}"}
        )
        assert r2.status_code == 200, r2.text
    match = r2.json()["match"]
    assert match, r2.text
    return {"a": a_tok, "b": b_tok, "a_id": a_id, "conv": match["conversation_id"]}


async def test_stock_js_client(server: str) -> None:
    assert NODE is not None  # the module is skipped otherwise
    pair = await _matched_pair(server)
    env = {
        **os.environ,
        "RAPPORT_URL": server,
        "TOKEN_A": pair["a"],
        "TOKEN_B": pair["b"],
        "CONVERSATION_ID": pair["conv"],
        "USER_A": pair["a_id"],
        "NO_COLOR": "1",
    }
    try:
        proc = await asyncio.to_thread(
            subprocess.run,
            [NODE, "--test", "tests/js/client.test.mjs"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"node --test timed out after 120 s:\n{exc.stdout!r}\n{exc.stderr!r}")
    assert proc.returncode == 0, (
        f"node --test exited {proc.returncode}\n--- stdout ---\n{proc.stdout}"
        f"\n--- stderr ---\n{proc.stderr}"
    )
