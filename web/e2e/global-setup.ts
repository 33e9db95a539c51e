// Starts one Rapport server for the whole browser suite: a free 127.0.0.1 port, a temp data
// dir (fresh SQLite), RAPPORT_ENV=test, relaxed limits (like tests/realtime/conftest.py's FAST),
// serving ../dist. The URL goes to the tests through RAPPORT_E2E_URL.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(WEB, "..");

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

async function waitForHealth(url: string, proc: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Rapport did not start (exit ${proc.exitCode}):\n${readFileSync(log, "utf8")}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const dist = join(WEB, "dist");
  if (!existsSync(join(dist, "index.html"))) {
    throw new Error("web/dist is missing: run `npm run build` in web/ first");
  }
  const python =
    process.env.RAPPORT_PYTHON ?? (existsSync(join(ROOT, ".venv/bin/python")) ? join(ROOT, ".venv/bin/python") : "python3");
  const dataDir = mkdtempSync(join(tmpdir(), "rapport-e2e-"));
  const log = join(dataDir, "server.log");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RAPPORT_ENV: "test",
    RAPPORT_DATA_DIR: dataDir,
    RAPPORT_DATABASE_URL: "",
    RAPPORT_REDIS_URL: "",
    RAPPORT_WEB_DIST: dist,
    RAPPORT_LOG_LEVEL: "WARNING",
    RAPPORT_CORS_ORIGINS: "[]",
    RAPPORT_REGISTER_MAX_PER_IP: "100000",
    RAPPORT_LOGIN_MAX_ATTEMPTS_PER_IP: "100000",
    RAPPORT_PRESENCE_GRACE_S: "0.5",
    RAPPORT_TYPING_TTL_S: "3",
    RAPPORT_SOCKET_RECHECK_S: "1",
    RAPPORT_SEND_BURST: "40",
    RAPPORT_SEND_RATE_PER_S: "5",
    RAPPORT_GC_TUNING: "false",
  };
  const out = openSync(log, "a");
  const proc = spawn(python, ["-m", "rapport.cli", "serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env,
    stdio: ["ignore", out, out],
  });
  await waitForHealth(url, proc, log);
  process.env.RAPPORT_E2E_URL = url;
  process.env.RAPPORT_E2E_LOG = log;

  return async () => {
    if (proc.exitCode === null) {
      proc.kill("SIGTERM");
      await new Promise<void>((r) => {
        const timer = setTimeout(() => {
          proc.kill("SIGKILL");
          r();
        }, 10_000);
        proc.once("exit", () => {
          clearTimeout(timer);
          r();
        });
      });
    }
    if (!process.env.RAPPORT_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true });
  };
}
