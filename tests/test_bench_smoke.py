"""The messaging benchmark runs end to end (tiny: `python -m bench.run --quick`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_quick_benchmark_reports_both_servers(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the benchmark's load generator runs under Node")
    if not (ROOT / "bench" / "node_modules" / "socket.io-client").is_dir():
        pytest.skip("bench/node_modules is missing: run `npm ci --prefix bench`")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--no-docs", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert set(report["servers"]) == {"rapport", "relay"}
    for server in report["servers"].values():
        steps = [s for s in server["steps"] if not s.get("skipped")]
        assert steps, server
        for step in steps:
            assert step["offered"] > 0
            assert step["measured"] > 0
            assert "p99" in step["e2e_ms"] and "p99" in step["ack_ms"]
            assert isinstance(step["server_cpu_pct"], float)
        assert server["message_shape"]["matches"] is True
        assert server["idle"]["opened"] == report["config"]["idle"]
        assert isinstance(server["max_rate"], int)
    assert isinstance(report["ratio"], float)
