"""Messaging benchmark: Rapport (SQLite, commit before ack) against a bare python-socketio relay.

    .venv/bin/python -m bench.run            # the full run (~8 min), updates docs/performance.md
    .venv/bin/python -m bench.run --quick    # a tiny run (~1 min)

For each server: start it pinned to one core, seed N users in N/2 matched pairs (Rapport: through
the REST API), measure the RSS cost of idle websocket connections, then drive ``message:send``
at stepped, fixed offered rates from the Node load generator (bench/loadgen.mjs) pinned to the
other core, sampling the server's CPU and RSS from /proc during each step's measured window.
Writes JSON (bench/results/latest.json) and the table in docs/performance.md. Every loop and
every wait is bounded; traffic only goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOCS = ROOT / "docs" / "performance.md"
DEFAULT_OUT = BENCH / "results" / "latest.json"
MARK_BEGIN = "<!-- bench:begin -->"
MARK_END = "<!-- bench:end -->"
P99_LIMIT_MS = 100.0
ACHIEVED_MIN = 0.95
TARGET_RATIO = 0.7
TOKEN_REFRESH_AFTER_S = 600  # access tokens live 900 s
CLK_TCK = os.sysconf("SC_CLK_TCK")
# structlog console records ("<time> [error    ] event  key=value …"), final lines of Python
# tracebacks, and uuids / hex ids to mask when grouping them.
LOG_RECORD = re.compile(r"^\S+ \[(\w+)\s*\]\s+(\S+)")
LOG_KEYS = re.compile(r"\b(?:event_type|path|code)=\S+")
EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\b:?")
ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|0x[0-9a-f]+")
PASSWORD = "bench-password-0001"  # noqa: S105 (throw-away accounts in a temp database)

console = Console()


# ----------------------------------------------------------------------------- /proc sampling


def proc_cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cores_busy() -> dict[int, tuple[int, int]]:
    """Per core: (busy jiffies, all jiffies) from /proc/stat (busy excludes idle and iowait)."""
    out: dict[int, tuple[int, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                v = [int(x) for x in vals]
                idle = v[3] + v[4]
                out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


@dataclass
class Snapshot:
    t: float
    server: int
    client: int
    cores: dict[int, tuple[int, int]]

    @classmethod
    def take(cls, server_pid: int, client_pid: int) -> Snapshot:
        try:
            client = proc_cpu_ticks(client_pid)
        except OSError:
            client = 0
        return cls(time.monotonic(), proc_cpu_ticks(server_pid), client, cores_busy())


class RssSampler:
    """Samples a process's RSS every ``interval`` s in a thread; reports the max per window."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self._max = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                rss = proc_rss_kib(self.pid)
            except OSError:
                return
            with self._lock:
                self._max = max(self._max, rss)

    def window_max(self) -> int:
        """Max RSS since the last call (then reset)."""
        with self._lock:
            value, self._max = self._max, proc_rss_kib(self.pid)
        return value


def wait_quiet(pid: int, below_pct: float = 5.0, hold_s: float = 1.0, max_s: float = 30.0) -> float:
    """Wait (bounded) until ``pid`` used under ``below_pct`` % CPU for ``hold_s``; return wait."""
    start = time.monotonic()
    while time.monotonic() - start < max_s:
        t0, c0 = time.monotonic(), proc_cpu_ticks(pid)
        time.sleep(hold_s)
        used = 100.0 * (proc_cpu_ticks(pid) - c0) / CLK_TCK / (time.monotonic() - t0)
        if used < below_pct:
            break
    return round(time.monotonic() - start, 1)


def machine_busy(cores: list[int], seconds: float = 2.0) -> dict[int, float]:
    """Busy % of each core over ``seconds`` (to spot other work on a shared machine)."""
    a = cores_busy()
    time.sleep(seconds)
    b = cores_busy()
    return {
        c: round(100.0 * (b[c][0] - a[c][0]) / max(b[c][1] - a[c][1], 1), 1)
        for c in cores
        if c in a and c in b
    }


def window_stats(
    a: Snapshot, b: Snapshot, server_cpu: int | None, client_cpu: int | None
) -> dict[str, Any]:
    dt = max(b.t - a.t, 1e-6)
    pct = lambda ticks: round(100.0 * ticks / CLK_TCK / dt, 1)  # noqa: E731
    stats: dict[str, Any] = {
        "server_cpu_pct": pct(b.server - a.server),
        "loadgen_proc_cpu_pct": pct(b.client - a.client) if b.client else None,
    }
    # CPU on each pinned core that neither benchmark process accounts for: other processes on
    # the machine, plus kernel network work done in softirq context.
    for label, core, own in (
        ("other_cpu_on_server_core_pct", server_cpu, b.server - a.server),
        ("other_cpu_on_client_core_pct", client_cpu, b.client - a.client),
    ):
        if core is None or core not in a.cores or core not in b.cores:
            continue
        busy = b.cores[core][0] - a.cores[core][0]
        total = max(b.cores[core][1] - a.cores[core][1], 1)
        stats[label] = round(max(0.0, 100.0 * (busy - own) / total), 1)
    return stats


# ----------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None:
        return cmd
    return [taskset, "-c", str(cpu), *cmd]


@dataclass
class ServerProc:
    name: str
    cmd: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    base_url: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log_path.open("wb") as sink:
            self.proc = subprocess.Popen(  # noqa: S603 (fixed argv)
                self.cmd, cwd=self.cwd, env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /healthz in {timeout:.0f} s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_errors(self, limit: int = 20) -> dict[str, Any]:
        """Error records of the server log, grouped (ids masked) and counted."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {"count": 0, "distinct": []}
        found: Counter[str] = Counter()
        for raw in text.splitlines():
            line = raw.strip()
            record = LOG_RECORD.match(line)
            if record and record.group(1) in ("error", "critical"):
                keys = " ".join(LOG_KEYS.findall(line))
                found[ID.sub("<id>", f"{record.group(2)} {keys}".strip())[:200]] += 1
            elif EXC_LINE.match(line) or line.startswith(("ERROR:", "CRITICAL:")):
                found[ID.sub("<id>", line)[:200]] += 1
        return {
            "count": sum(found.values()),
            "distinct": [{"line": k, "count": v} for k, v in found.most_common(limit)],
        }


# ----------------------------------------------------------------------------- the load generator


@dataclass
class Loadgen:
    node: str
    client_cpu: int | None
    server_cpu: int | None
    workdir: Path
    label: str

    def run(
        self,
        config: dict[str, Any],
        server_pid: int,
        timeout: float,
        on_idle_ready: Callable[[dict[str, Any]], None] | None = None,
        on_step: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run loadgen.mjs with ``config``; sample the server around each measured window."""
        cfg_path = self.workdir / f"loadgen-{config['mode']}-{secrets.token_hex(4)}.json"
        cfg_path.write_text(json.dumps(config))
        err_path = self.workdir / f"{self.label}-loadgen-{config['mode']}.log"
        cmd = pinned([self.node, str(BENCH / "loadgen.mjs"), str(cfg_path)], self.client_cpu)
        lines: queue.Queue[str | None] = queue.Queue()
        with err_path.open("wb") as err:
            proc = subprocess.Popen(  # noqa: S603 (fixed argv)
                cmd, cwd=BENCH, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
            )

        def reader() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                lines.put(raw.decode(errors="replace"))
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        steps: dict[int, dict[str, Any]] = {}
        result: dict[str, Any] | None = None
        begin: Snapshot | None = None
        deadline = time.monotonic() + timeout
        try:
            with RssSampler(server_pid) as rss:
                while time.monotonic() < deadline:
                    try:
                        line = lines.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
                    except queue.Empty:
                        continue
                    if line is None:
                        break
                    try:
                        msg = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    kind = msg.get("type")
                    if kind == "step_begin":
                        begin = Snapshot.take(server_pid, proc.pid)
                        rss.window_max()
                    elif kind == "step_end" and begin is not None:
                        end = Snapshot.take(server_pid, proc.pid)
                        steps[msg["step"]] = {
                            **window_stats(begin, end, self.server_cpu, self.client_cpu),
                            "server_rss_max_mib": round(rss.window_max() / 1024, 1),
                        }
                        begin = None
                    elif kind == "step_result":
                        merged = {**msg, **steps.get(msg["step"], {})}
                        merged.pop("type", None)
                        steps[msg["step"]] = merged
                        if on_step:
                            on_step(merged)
                    elif kind == "idle_ready":
                        if on_idle_ready:
                            on_idle_ready(msg)
                        assert proc.stdin is not None
                        proc.stdin.write(b"close\n")
                        proc.stdin.flush()
                    elif kind == "result":
                        result = msg
                        break
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if result is None:
            tail = err_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"load generator gave no result (timeout {timeout:.0f} s):\n{tail}")
        if "steps" in result:
            result["steps"] = [
                {**s, **steps.get(s["step"], {})} if not s.get("skipped") else s
                for s in result["steps"]
            ]
        result.pop("type", None)
        unsolicited = [
            ln
            for ln in err_path.read_text(errors="replace").splitlines()
            if "disconnected at" in ln
        ]
        result["unsolicited_disconnects"] = {"count": len(unsolicited), "first": unsolicited[:10]}
        return result


# ----------------------------------------------------------------------------- Rapport seeding


@dataclass
class User:
    index: int
    user_id: str = ""
    access: str = ""
    refresh: str = ""
    issued: float = 0.0
    conversation_id: str = ""
    peer: int = -1


def _profile(woman: bool) -> dict[str, Any]:
    return {
        "display_name": "Bench A" if woman else "Bench B",
        "birth_date": "1995-06-15" if woman else "1993-03-02",
        "gender": "woman" if woman else "man",
        "seeking": {"genders": ["man" if woman else "woman"], "age_min": 25, "age_max": 45},
        "bio": "Benchmark account.",
        "languages": ["en"],
    }


# 5xx answers and time-outs met while seeding, by "METHOD /route status" (each retried, bounded).
REST_SERVER_ERRORS: Counter[str] = Counter()


class HTTPStatusError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _call(
    http: httpx.AsyncClient, method: str, url: str, *, expect: int, route: str, **kw: Any
) -> dict[str, Any]:
    """One REST call, retried (bounded) on transport errors and 5xx answers.

    Every call the harness makes is safe to repeat, except a registration whose first try did
    commit before failing to answer (a time-out): the caller logs in instead.
    """
    for attempt in range(4):
        try:
            r = await http.request(method, url, **kw)
        except httpx.TransportError as exc:
            if attempt == 3:
                raise
            REST_SERVER_ERRORS[f"{method} {route} {type(exc).__name__}"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        if r.status_code >= 500 and attempt < 3:
            REST_SERVER_ERRORS[f"{method} {route} {r.status_code}"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        if r.status_code != expect:
            raise HTTPStatusError(
                r.status_code, f"{method} {url} -> {r.status_code}: {r.text[:300]}"
            )
        data: dict[str, Any] = r.json()
        return data
    raise AssertionError("unreachable")


async def seed_rapport(base: str, n_users: int, run_id: str, concurrency: int) -> list[User]:
    """Register ``n_users`` through the REST API, complete profiles, and match them in pairs."""
    users = [User(i) for i in range(n_users)]
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(60.0)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as http:

            async def bounded(task: Any, fn: Callable[[User], Any], group: list[User]) -> None:
                async def one(u: User) -> None:
                    async with sem:
                        await fn(u)
                    progress.advance(task)

                await asyncio.gather(*(one(u) for u in group))

            async def register(u: User) -> None:
                body = {"email": f"bench-{run_id}-{u.index}@example.com", "password": PASSWORD}
                try:
                    data = await _call(
                        http,
                        "POST",
                        "/api/v1/auth/register",
                        json=body,
                        expect=201,
                        route="/register",
                    )
                except HTTPStatusError as exc:
                    if exc.status != 409:  # 409: an earlier try was stored after all
                        raise
                    data = await _call(
                        http, "POST", "/api/v1/auth/login", json=body, expect=200, route="/login"
                    )
                u.user_id, u.access, u.refresh = (
                    data["user_id"],
                    data["access_token"],
                    data["refresh_token"],
                )
                u.issued = time.monotonic()

            async def complete(u: User) -> None:
                headers = {"Authorization": f"Bearer {u.access}"}
                body = _profile(woman=u.index % 2 == 0)
                await _call(
                    http, "PATCH", "/api/v1/me", json=body, headers=headers, expect=200, route="/me"
                )

            async def like(u: User) -> None:
                peer = users[u.index ^ 1]
                headers = {"Authorization": f"Bearer {u.access}"}
                url = f"/api/v1/users/{peer.user_id}/like"
                data = await _call(http, "POST", url, headers=headers, expect=200, route="/like")
                if u.index % 2 == 1:
                    if not data.get("matched"):
                        raise RuntimeError(f"pair {u.index // 2} did not match: {data}")
                    conv = data["match"]["conversation_id"]
                    u.conversation_id = peer.conversation_id = conv
                    u.peer, peer.peer = peer.index, u.index

            first, second = users[0::2], users[1::2]
            for label, fn, group in (
                ("register (Argon2)", register, users),
                ("complete profiles", complete, users),
                ("like", like, first),
                ("like back (match)", like, second),
            ):
                task = progress.add_task(label, total=len(group))
                await bounded(task, fn, group)
    return users


async def refresh_tokens(base: str, users: list[User], concurrency: int) -> int:
    """Rotate the token pairs older than TOKEN_REFRESH_AFTER_S (a run may outlive them)."""
    stale = [u for u in users if time.monotonic() - u.issued > TOKEN_REFRESH_AFTER_S]
    if not stale:
        return 0
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def one(u: User) -> None:
            async with sem:
                body = {"refresh_token": u.refresh}
                data = await _call(
                    http, "POST", "/api/v1/auth/refresh", json=body, expect=200, route="/refresh"
                )
            u.access, u.refresh, u.issued = (
                data["access_token"],
                data["refresh_token"],
                time.monotonic(),
            )

        await asyncio.gather(*(one(u) for u in stale))
    return len(stale)


# ----------------------------------------------------------------------------- one server


@dataclass
class Options:
    users: int
    steps: list[int]
    step_seconds: float
    warmup_seconds: float
    drain_seconds: float
    pause_seconds: float
    idle: int
    seed_concurrency: int
    connect_concurrency: int
    server_cpu: int | None
    client_cpu: int | None
    node: str
    workdir: Path
    rapport_env: dict[str, str] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))


def _relay_users(n: int) -> list[User]:
    users = [User(i, user_id=str(uuid.uuid4())) for i in range(n)]
    for a, b in zip(users[0::2], users[1::2], strict=True):
        a.peer, b.peer = b.index, a.index
        a.conversation_id = b.conversation_id = str(uuid.uuid4())
    return users


def _rss_median(pid: int, samples: int = 5, gap: float = 0.3) -> int:
    values = []
    for _ in range(samples):
        values.append(proc_rss_kib(pid))
        time.sleep(gap)
    return int(statistics.median(values))


def start_ai_mock(delay: float) -> str:
    """A loopback OpenAI-compatible endpoint that waits ``delay`` seconds per request."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("content-length", 0)))
            time.sleep(delay)
            body = json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "mock",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "{}"},
                        }
                    ],
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def bench_server(kind: str, opt: Options) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=opt.workdir))
    python_bin = Path(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    if kind.startswith("rapport"):
        rapport_bin = python_bin.parent / "rapport"
        if not rapport_bin.exists():
            rapport_bin = ROOT / ".venv" / "bin" / "rapport"
        cmd = [str(rapport_bin), "serve", "--host", "127.0.0.1", "--port", str(port)]
        env.update(
            RAPPORT_ENV="test",
            RAPPORT_LOG_LEVEL="WARNING",
            RAPPORT_DATA_DIR=str(data_dir),
            RAPPORT_DATABASE_URL="",
            RAPPORT_REDIS_URL="",
            # Registration is limited per IP and every bench user comes from 127.0.0.1.
            RAPPORT_REGISTER_MAX_PER_IP="1000000",
            RAPPORT_LOGIN_MAX_ATTEMPTS_PER_IP="1000000",
            # The per-user send bucket (default 2/s, burst 20) would refuse the offered rates:
            # lift it (the bucket is still taken on every send, only never empty).
            RAPPORT_SEND_RATE_PER_S="1000000",
            RAPPORT_SEND_BURST="1000000",
        )
        env.update(opt.rapport_env)
        description = "auth, validation, SQLite (WAL) commit before ack, fan-out"
        if kind != "rapport":
            # Every AI capability routed to an OpenAI-compatible mock that answers in 2 s
            # ("slow-ai") or never ("dead-ai"): delivery must not notice.
            mock = start_ai_mock(delay=2.0 if kind == "rapport-slow-ai" else 3600.0)
            for capability in ("ANALYSIS", "REPLIES", "ICEBREAKER", "ENHANCE", "HEALTH"):
                env[f"RAPPORT_AI_ROUTE_{capability}"] = "openai"
            env.update(
                RAPPORT_AI_OPENAI_BASE_URL=f"{mock}/v1",
                RAPPORT_AI_OPENAI_MODEL="mock",
                RAPPORT_AI_TIMEOUT_S="3",
            )
            description += f"; AI routed to a remote that answers {kind.removeprefix('rapport-')}"
    else:
        cmd = [str(python_bin), "-m", "bench.relay", "--port", str(port)]
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        description = "bare python-socketio relay: no auth, no database"
    server = ServerProc(
        name=kind,
        cmd=pinned(cmd, opt.server_cpu),
        env=env,
        cwd=data_dir,  # no stray .env is read from the repository
        log_path=opt.workdir / f"{kind}-server.log",
        base_url=base,
    )
    loadgen = Loadgen(opt.node, opt.client_cpu, opt.server_cpu, opt.workdir, kind)
    out: dict[str, Any] = {"name": kind, "description": description}
    console.rule(f"[bold]{kind}")
    server.start()
    try:
        t = time.monotonic()
        if kind.startswith("rapport"):
            users = asyncio.run(seed_rapport(base, opt.users, opt.run_id, opt.seed_concurrency))
        else:
            users = _relay_users(opt.users)
        out["seed_seconds"] = round(time.monotonic() - t, 1)
        if kind.startswith("rapport"):
            out["seed_server_errors_retried"] = dict(REST_SERVER_ERRORS)
            if REST_SERVER_ERRORS:
                console.print(
                    f"[yellow]seeding met 5xx answers (retried): {dict(REST_SERVER_ERRORS)}"
                )

        def auth(u: User) -> dict[str, str]:
            if kind.startswith("rapport"):
                return {"token": u.access}
            return {"user_id": u.user_id, "peer_id": users[u.peer].user_id}

        def fresh() -> None:
            if kind.startswith("rapport"):
                n = asyncio.run(refresh_tokens(base, users, opt.seed_concurrency))
                if n:
                    console.print(f"refreshed {n} access tokens")

        # Idle connections first, on the server at rest: RSS before and with the sockets open.
        if opt.idle > 0:
            fresh()
            wait_quiet(server.pid)
            before = _rss_median(server.pid)
            idle: dict[str, Any] = {"sockets": opt.idle, "rss_before_kib": before}

            def measure(ready: dict[str, Any]) -> None:
                time.sleep(3.0)
                after = _rss_median(server.pid)
                opened = int(ready.get("opened", 0))
                idle.update(
                    opened=opened,
                    failed=ready.get("failed"),
                    connect_seconds=round(float(ready.get("seconds", 0)), 1),
                    connect_errors=ready.get("errors"),
                    rss_after_kib=after,
                    kib_per_connection=round((after - before) / opened, 1) if opened else None,
                )
                console.print(
                    f"idle: {opened} sockets open, RSS {before / 1024:.0f} → "
                    f"{after / 1024:.0f} MiB = {idle['kib_per_connection']} KiB per connection"
                )

            console.print(f"opening {opt.idle} idle sockets…")
            idle_cfg = {
                "url": base,
                "mode": "idle",
                "run_id": f"idle{opt.run_id}",
                "idle_auths": [auth(users[i % len(users)]) for i in range(opt.idle)],
                "idle_hold_seconds": 120,
                "connect_concurrency": opt.connect_concurrency,
                "max_seconds": 600,
            }
            res = loadgen.run(idle_cfg, server.pid, timeout=600, on_idle_ready=measure)
            idle["still_open_at_close"] = res.get("still_open")
            idle["disconnects_while_held"] = res.get("disconnects_while_held")
            idle["unsolicited_disconnects"] = res.get("unsolicited_disconnects")
            out["idle"] = idle
            # Let the server finish tearing the idle sockets down (and announce presence).
            idle["settle_seconds"] = wait_quiet(server.pid, max_s=60.0)

        fresh()
        load_cfg = {
            "url": base,
            "mode": "load",
            "run_id": f"r{opt.run_id}",
            "clients": [
                {"auth": auth(u), "conversation_id": u.conversation_id, "peer": u.peer}
                for u in users
            ],
            "steps": opt.steps,
            "step_seconds": opt.step_seconds,
            "warmup_seconds": opt.warmup_seconds,
            "drain_seconds": opt.drain_seconds,
            "pause_seconds": opt.pause_seconds,
            "connect_concurrency": opt.connect_concurrency,
        }
        per_step = opt.warmup_seconds + opt.step_seconds + opt.drain_seconds + opt.pause_seconds
        budget = 120 + len(opt.steps) * (per_step + 5)
        load_cfg["max_seconds"] = budget
        console.print(
            f"load: {len(users)} sockets in {len(users) // 2} pairs, steps {opt.steps} msg/s, "
            f"{opt.step_seconds:g} s each after {opt.warmup_seconds:g} s warm-up"
        )
        res = loadgen.run(load_cfg, server.pid, timeout=budget + 30, on_step=_print_step)
        if not res.get("ok"):
            raise RuntimeError(
                f"{kind}: load phase failed: {res.get('error')} {res.get('connect')}"
            )
        out["connect"] = res.get("connect")
        out["steps"] = res["steps"]
        out["message_shape"] = res.get("shape")
        out["counters"] = res.get("counters")
        out["unsolicited_disconnects"] = res.get("unsolicited_disconnects")
        out["max_rate"] = max_rate(out["steps"])
    except Exception as exc:  # reported in the results; the other server still runs
        out["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        out.setdefault("steps", [])
        out["max_rate"] = max_rate(out["steps"])
        console.print(f"[red]{kind} failed: {out['error']}")
    finally:
        server.stop()
        out["server_log_errors"] = errors = server.log_errors()
        if errors["count"]:
            console.print(f"[yellow]{kind} logged {errors['count']} error record(s):")
            for e in errors["distinct"][:8]:
                console.print(f"  {e['count']:>6} × {e['line']}", markup=False, highlight=False)
    console.print(
        f"[bold]{kind}[/]: max rate at p99 < {P99_LIMIT_MS:g} ms = {out.get('max_rate')} msg/s"
    )
    return out


def step_passes(s: dict[str, Any]) -> bool:
    if s.get("skipped"):
        return False
    p99 = (s.get("e2e_ms") or {}).get("p99")
    offered = float(s["offered"])
    return (
        p99 is not None
        and p99 < P99_LIMIT_MS
        and s.get("delivered_per_s", 0) >= ACHIEVED_MIN * offered
        and s.get("ack_per_s", 0) >= ACHIEVED_MIN * offered
        and s.get("errors", 1) == 0
        and bool(s.get("drained"))
    )


def max_rate(steps: list[dict[str, Any]]) -> int:
    """Highest offered rate whose e2e p99 < 100 ms with ≥ 95 % of it acked and delivered."""
    return max((int(s["offered"]) for s in steps if step_passes(s)), default=0)


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _print_step(s: dict[str, Any]) -> None:
    e2e = s.get("e2e_ms") or {}
    mark = "[green]✓[/]" if step_passes(s) else "[red]✗[/]"
    console.print(
        f"  {mark} {s['offered']:>6} msg/s offered: delivered {_fmt(s.get('delivered_per_s'))}/s, "
        f"e2e p50/p99/max {_fmt(e2e.get('p50'))}/{_fmt(e2e.get('p99'))}/{_fmt(e2e.get('max'))} ms, "
        f"errors {s.get('errors')}, server CPU {_fmt(s.get('server_cpu_pct'))}%, "
        f"loadgen CPU {_fmt(s.get('loadgen_proc_cpu_pct'))}%"
    )


# ----------------------------------------------------------------------------- report


def machine_info(node: str) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        node_version = subprocess.run(  # noqa: S603 (fixed argv)
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        node_version = ""
    versions = {}
    for dist in ("python-socketio", "python-engineio", "uvicorn", "websockets", "uvloop"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    with contextlib.suppress(OSError, ValueError, KeyError):
        pkg = json.loads((BENCH / "node_modules" / "socket.io-client" / "package.json").read_text())
        versions["socket.io-client"] = pkg["version"]
    mem_gib = None
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as f:
        mem_gib = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": mem_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node_version,
        "versions": versions,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def source_state() -> dict[str, Any]:
    """The commit checked out (read from .git, no git command) and a digest of src/ as run."""
    commit = None
    with contextlib.suppress(OSError, IndexError):
        git = ROOT / ".git"
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            if (git / ref).exists():
                commit = (git / ref).read_text().strip()
            else:
                packed = (git / "packed-refs").read_text().splitlines()
                commit = next((ln.split()[0] for ln in packed if ln.endswith(" " + ref)), None)
        else:
            commit = head
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return {"head_commit": commit, "src_sha256": digest.hexdigest()[:16]}


def render_markdown(report: dict[str, Any]) -> str:
    m, cfg, src = report["machine"], report["config"], report.get("source") or {}
    servers: dict[str, Any] = report["servers"]
    commit = (src.get("head_commit") or "unknown")[:10]
    changed = " (src/ changed during the run)" if src.get("changed_during_run") else ""
    lines = [
        f"Source: commit {commit}, src/ digest {src.get('src_sha256')}{changed}.",
        "",
        f"Run {m['date']} on {m['nproc']} × {m['cpu_model']} ({m['memory_gib']} GiB), "
        f"Python {m['python']}, Node {m['node']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ".",
        "",
        f"{cfg['users']} sockets in {cfg['users'] // 2} matched pairs; steps of "
        f"{cfg['step_seconds']:g} s after {cfg['warmup_seconds']:g} s of warm-up; server on "
        f"core {cfg['server_cpu']}, load generator on core {cfg['client_cpu']}; "
        f"{cfg['idle']} idle sockets for the memory figure.",
        "",
        "| server | max rate, e2e p99 < 100 ms | idle RSS per connection |",
        "|---|---:|---:|",
    ]
    for s in servers.values():
        idle = (s.get("idle") or {}).get("kib_per_connection")
        idle_text = f"{_fmt(idle)} KiB" if idle is not None else "—"
        lines.append(f"| {s['name']} | {_fmt(s.get('max_rate'))} msg/s | {idle_text} |")
    ratio = report.get("ratio")
    lines += [
        "",
        f"**Ratio Rapport / relay: {_fmt(ratio, 2)}** (target ≥ {TARGET_RATIO}: "
        f"{'met' if report.get('meets_target') else 'not met'}).",
        "",
    ]
    for s in servers.values():
        lines += [
            f"#### {s['name']} — {s['description']}",
            "",
            "| offered msg/s | acked/s | delivered/s | e2e p50 / p99 / max ms "
            "| ack p50 / p99 / max ms | errors | unacked | server CPU | server RSS "
            "| loadgen CPU | other CPU on server core |",
            "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for st in s.get("steps", []):
            if st.get("skipped"):
                continue
            e2e, ack = st.get("e2e_ms") or {}, st.get("ack_ms") or {}
            ok = "" if step_passes(st) else " ✗"
            lines.append(
                f"| {st['offered']:,}{ok} | {_fmt(st.get('ack_per_s'))} "
                f"| {_fmt(st.get('delivered_per_s'))} "
                f"| {_fmt(e2e.get('p50'))} / {_fmt(e2e.get('p99'))} / {_fmt(e2e.get('max'))} "
                f"| {_fmt(ack.get('p50'))} / {_fmt(ack.get('p99'))} / {_fmt(ack.get('max'))} "
                f"| {st.get('errors', 0)} | {st.get('unacked', 0)} "
                f"| {_fmt(st.get('server_cpu_pct'))} % | {_fmt(st.get('server_rss_max_mib'))} MiB "
                f"| {_fmt(st.get('loadgen_proc_cpu_pct'))} % "
                f"| {_fmt(st.get('other_cpu_on_server_core_pct'))} % |"
            )
        skipped = [f"{st['offered']:,}" for st in s.get("steps", []) if st.get("skipped")]
        if skipped:
            lines.append(f"| {', '.join(skipped)} | not run: a lower step saturated the server |")
        lines.append("")
        lines += _server_notes(s)
    lines.append(
        "✗ = step fails the criterion (e2e p99 ≥ 100 ms, under 95 % of the offered rate acked or "
        "delivered, an error, or not drained). A latency of — means some messages never arrived."
    )
    return "\n".join(lines)


def _server_notes(s: dict[str, Any]) -> list[str]:
    """Failures worth reading next to a server's table: errors, lost sockets, log records."""
    notes = []
    if s.get("error"):
        notes.append(f"- The run of {s['name']} failed: `{s['error'][:300]}`")
    if s.get("seed_server_errors_retried"):
        notes.append(f"- 5xx answers while seeding (retried): {s['seed_server_errors_retried']}")
    idle = s.get("idle") or {}
    lost_idle = (idle.get("unsolicited_disconnects") or {}).get("count")
    if lost_idle:
        notes.append(
            f"- {lost_idle} of {idle.get('opened')} idle sockets were disconnected by the server "
            f"side while held: {idle.get('disconnects_while_held')}"
        )
    lost = (s.get("unsolicited_disconnects") or {}).get("count")
    if lost:
        reopened = (s.get("connect") or {}).get("reopened_after_connect") or 0
        reasons = (s.get("counters") or {}).get("disconnects") or {}
        reasons = {k: v for k, v in reasons.items() if k != "io client disconnect"}
        notes.append(
            f"- {lost} load sockets were disconnected by the other side ({reasons}); "
            f"{reopened} of them right after connecting, reopened before the first step"
        )
    shape = s.get("message_shape") or {}
    if shape.get("missing") or shape.get("extra"):
        notes.append(
            f"- `message:new` differs from the message object of docs/protocol.md: "
            f"missing {shape.get('missing')}, extra {shape.get('extra')}"
        )
    counters = s.get("counters") or {}
    if counters.get("outOfOrder"):
        notes.append(
            f"- {counters['outOfOrder']} `message:new` arrived at a socket with a seq lower than "
            "one it already had for that conversation (fan-out does not keep seq order)"
        )
    errors = s.get("server_log_errors") or {}
    if errors.get("count"):
        top = "; ".join(f"{e['count']} × `{e['line']}`" for e in errors["distinct"][:4])
        notes.append(f"- Server log: {errors['count']} error records ({top})")
    return [*notes, ""] if notes else []


def update_docs(markdown: str, path: Path = DOCS) -> None:
    text = path.read_text() if path.exists() else f"# Performance\n\n{MARK_BEGIN}\n{MARK_END}\n"
    if MARK_BEGIN not in text or MARK_END not in text:
        text = text.rstrip() + f"\n\n{MARK_BEGIN}\n{MARK_END}\n"
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{markdown}\n{MARK_END}{tail}")


def print_summary(report: dict[str, Any]) -> None:
    table = Table(title="Max rate at e2e p99 < 100 ms")
    for col in ("server", "max msg/s", "idle KiB/conn", "best step p50/p99 ms"):
        table.add_column(col)
    for s in report["servers"].values():
        best = next(
            (st for st in s.get("steps", []) if st.get("offered") == s.get("max_rate")), None
        )
        e2e = (best or {}).get("e2e_ms") or {}
        table.add_row(
            s["name"],
            _fmt(s.get("max_rate")),
            _fmt((s.get("idle") or {}).get("kib_per_connection")),
            f"{_fmt(e2e.get('p50'))} / {_fmt(e2e.get('p99'))}",
        )
    console.print(table)
    console.print(f"ratio Rapport / relay = [bold]{_fmt(report.get('ratio'), 2)}[/]")


# ----------------------------------------------------------------------------- entry point


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description="Rapport messaging benchmark (see docs)."
    )
    p.add_argument("--users", type=int, default=1000, help="sockets, in matched pairs")
    p.add_argument(
        "--steps",
        # Above 1,400 msg/s the steps are 15-20 % apart: the ratio of two max rates can only be
        # as fine as the steps (with 2,000 then 3,000, one step either way moved it by a third).
        default="25,50,100,200,400,700,1000,1400,1700,2000,2400,2800,3200,3600,4000,6000",
        help="offered aggregate rates, msg/s, comma-separated (a server that saturates at a "
        "step skips the higher ones)",
    )
    p.add_argument("--step-seconds", type=float, default=10.0)
    p.add_argument("--warmup-seconds", type=float, default=2.0)
    p.add_argument("--drain-seconds", type=float, default=10.0)
    p.add_argument("--pause-seconds", type=float, default=1.0)
    p.add_argument("--idle", type=int, default=5000, help="idle sockets for the memory figure")
    p.add_argument("--servers", default="rapport,relay", help="which servers to run")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    # Rapport hashes the password (Argon2) inside its write transaction, so registrations are
    # serialised on SQLite's write lock: more than a few in flight only queue there, and a
    # waiter past busy_timeout (10 s) gets a 500 "database is locked".
    p.add_argument("--seed-concurrency", type=int, default=4, help="REST requests in flight")
    p.add_argument("--connect-concurrency", type=int, default=64)
    p.add_argument(
        "--quick", action="store_true", help="tiny run: 20 users, 2 steps of 2 s, 50 idle sockets"
    )
    p.add_argument(
        "--rapport-env",
        action="append",
        default=[],
        metavar="RAPPORT_X=VALUE",
        help="extra setting for the Rapport server (repeatable), e.g. RAPPORT_LOOP_STALL_LOG_MS=50",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    p.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="run nothing: print and write the docs table from an earlier results file",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.steps, args.idle = 20, "10,40", 50
        args.step_seconds, args.warmup_seconds, args.drain_seconds = 2.0, 1.0, 5.0
        args.pause_seconds = 0.5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        report = json.loads(args.from_json.read_text())
        print_summary(report)
        if not args.no_docs:
            update_docs(render_markdown(report))
            console.print(f"table: {DOCS}")
        return 0
    steps = [int(x) for x in str(args.steps).split(",") if x.strip()]
    if args.users < 2 or args.users % 2:
        raise SystemExit("--users must be an even number ≥ 2")
    if not steps or any(r <= 0 for r in steps):
        raise SystemExit("--steps must be positive rates")
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is required (the load generator runs under Node)")
    if not (BENCH / "node_modules" / "socket.io-client").is_dir():
        raise SystemExit("bench/node_modules is missing: run `npm ci --prefix bench` first")
    ncpu = len(os.sched_getaffinity(0))
    server_cpu: int | None = args.server_cpu
    client_cpu: int | None = args.client_cpu
    if ncpu < 2 or shutil.which("taskset") is None:
        console.print("[yellow]fewer than 2 cores or no taskset: server and client not pinned")
        server_cpu = client_cpu = None
    else:
        # The driver itself (sampling, seeding) stays off the server's core too.
        os.sched_setaffinity(0, {client_cpu})
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    known = ("rapport", "relay", "rapport-slow-ai", "rapport-dead-ai")
    if any(k not in known for k in kinds):
        raise SystemExit(f"--servers takes any of {', '.join(known)}")

    pinned_cores = [c for c in (server_cpu, client_cpu) if c is not None]
    busy_before = machine_busy(pinned_cores or [0]) if pinned_cores else {}
    if any(v > 15 for v in busy_before.values()):
        console.print(
            f"[yellow]the machine is busy before the run (core busy %: {busy_before}): other "
            "work competes with the benchmark and its numbers will be lower and noisier"
        )
    source = source_state()  # before the run: the tree may change while it goes on
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        opt = Options(
            users=args.users,
            steps=steps,
            step_seconds=args.step_seconds,
            warmup_seconds=args.warmup_seconds,
            drain_seconds=args.drain_seconds,
            pause_seconds=args.pause_seconds,
            idle=args.idle,
            seed_concurrency=args.seed_concurrency,
            connect_concurrency=args.connect_concurrency,
            server_cpu=server_cpu,
            client_cpu=client_cpu,
            node=node,
            workdir=Path(tmp),
            rapport_env=dict(kv.split("=", 1) for kv in args.rapport_env),
        )
        try:
            servers = {kind: bench_server(kind, opt) for kind in kinds}
        finally:
            # Server and load generator logs go next to the JSON (bench/.gitignore skips them).
            args.out.parent.mkdir(parents=True, exist_ok=True)
            for log in Path(tmp).glob("*.log"):
                shutil.copyfile(log, args.out.parent / f"{args.out.stem}-{log.name}")
    rap, rel = servers.get("rapport"), servers.get("relay")
    ratio = None
    if rap is not None and rel is not None and rel.get("max_rate"):
        ratio = round(rap["max_rate"] / rel["max_rate"], 3)
    report = {
        "schema": 1,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(time.monotonic() - started, 1),
        "machine": {**machine_info(node), "busy_before_pct": busy_before},
        "source": {**source, "changed_during_run": source_state() != source},
        "config": {
            "users": opt.users,
            "steps": steps,
            "step_seconds": opt.step_seconds,
            "warmup_seconds": opt.warmup_seconds,
            "drain_seconds": opt.drain_seconds,
            "idle": opt.idle,
            "server_cpu": server_cpu,
            "client_cpu": client_cpu,
            "p99_limit_ms": P99_LIMIT_MS,
            "achieved_min_fraction": ACHIEVED_MIN,
            "quick": bool(args.quick),
        },
        "servers": servers,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio is not None and ratio >= TARGET_RATIO,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_name(args.out.name + ".tmp")
    tmp_out.write_text(json.dumps(report, indent=2) + "\n")
    tmp_out.replace(args.out)
    print_summary(report)
    console.print(f"results: {args.out}")
    if not args.no_docs:
        update_docs(render_markdown(report))
        console.print(f"table: {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
