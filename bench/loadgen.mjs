// Load generator of the Rapport messaging benchmark (driven by bench/run.py).
//
//   node bench/loadgen.mjs <config.json>     (or the config JSON itself in $BENCH_CONFIG)
//
// Config: {
//   url, mode: "load" | "idle", run_id,
//   clients: [{auth: {...}, conversation_id, peer: <index of the peer client>}],   // load
//   steps: [msg/s, ...], step_seconds, warmup_seconds, drain_seconds, pause_seconds,
//   idle_auths: [{...}, ...], idle_hold_seconds,                                    // idle
//   connect_concurrency, connect_timeout_seconds, body
// }
//
// Protocol on stdout: one JSON object per line, {"type": ...}: "connected", "step_begin" and
// "step_end" (edges of a step's measured window, so the driver can sample the server),
// "idle_ready" (idle mode: sockets are open; the driver then writes "close\n" on stdin), and
// last "result". Diagnostics go to stderr.
//
// Load: sends follow a fixed schedule (message n of a step is due at t0 + n / rate, senders
// taken round-robin over all clients) whatever the server does, and every latency is measured
// from the scheduled time, not from when the send actually left: a server (or a client) that
// falls behind shows up as latency instead of silently lowering the offered rate (no
// coordinated omission). End-to-end latency stops at the PEER's `message:new`, matched by
// client_msg_id; ack latency stops at the acknowledgement callback.

import { readFileSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const cfg = JSON.parse(
  process.argv[2] ? readFileSync(process.argv[2], "utf8") : process.env.BENCH_CONFIG ?? "{}",
);
const BODY = cfg.body ?? "Hey! Are you free for coffee on Saturday afternoon?";
// The message object of docs/protocol.md.
const MESSAGE_KEYS = [
  "ai_assisted",
  "body",
  "client_msg_id",
  "conversation_id",
  "created_at",
  "id",
  "kind",
  "reply_to",
  "sender_id",
  "seq",
];

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const log = (...args) => process.stderr.write(args.join(" ") + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function connectOne(auth, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = io(cfg.url, {
      transports: ["websocket"],
      auth,
      forceNew: true, // one engine.io connection per socket: no multiplexing
      reconnection: false,
      timeout: timeoutMs,
    });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("connect timeout"));
    }, timeoutMs + 1000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      const data = err && err.data ? ` ${JSON.stringify(err.data)}` : "";
      reject(new Error(`${err && err.message ? err.message : err}${data}`));
    });
  });
}

// Open one socket per auth with bounded concurrency; failures are counted, not fatal.
async function connectAll(auths, label, disconnects) {
  const sockets = new Array(auths.length).fill(null);
  const errors = {};
  let next = 0;
  let done = 0;
  const timeoutMs = (cfg.connect_timeout_seconds ?? 20) * 1000;
  const started = now();
  async function worker() {
    while (next < auths.length) {
      const i = next++;
      try {
        sockets[i] = await connectOne(auths[i], timeoutMs);
        trackDisconnects(sockets[i], i, disconnects);
      } catch (err) {
        const key = String(err.message).slice(0, 200);
        errors[key] = (errors[key] ?? 0) + 1;
      }
      done++;
      if (done % 500 === 0) log(`${label}: ${done}/${auths.length} connected`);
    }
  }
  const workers = Math.max(1, Math.min(cfg.connect_concurrency ?? 64, auths.length));
  await Promise.all(Array.from({ length: workers }, worker));
  const failed = sockets.filter((s) => s === null).length;
  return { sockets, failed, errors, seconds: (now() - started) / 1000 };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null;
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
  };
}

// Count disconnects by reason; any the client did not ask for is also logged with its time.
const T0 = now();
function trackDisconnects(socket, index, into) {
  socket.on("disconnect", (reason, details) => {
    into[reason] = (into[reason] ?? 0) + 1;
    if (reason !== "io client disconnect") {
      const why = details && details.description ? ` (${details.description})` : "";
      const at = ((now() - T0) / 1000).toFixed(1);
      log(`socket ${index} disconnected at ${at} s: ${reason}${why}`);
    }
  });
}

function closeAll(sockets) {
  for (const s of sockets) if (s) s.close();
}

async function runLoad() {
  const clients = cfg.clients;
  const n = clients.length;
  const counters = { late: 0, unknown: 0, duplicates: 0, outOfOrder: 0, disconnects: {} };
  const conn = await connectAll(
    clients.map((c) => c.auth),
    "load",
    counters.disconnects,
  );
  if (conn.failed > 0) {
    out({ type: "connected", opened: n - conn.failed, failed: conn.failed, errors: conn.errors, seconds: conn.seconds });
    closeAll(conn.sockets);
    return { ok: false, error: "some load sockets failed to connect", connect: conn, steps: [] };
  }
  const sockets = conn.sockets;

  // Per-step state, reset between steps. Messages of an earlier step that arrive late are
  // counted as "late" and otherwise ignored.
  let records = new Map();
  // First message:new seen: documented keys it lacks (a mismatch) and keys it adds.
  const shape = { checked: false, keys: null, missing: null, extra: null, matches: null };
  const lastSeq = new Array(n).fill(null).map(() => new Map());

  const wire = (socket, index) => {
    socket.on("message:new", (m) => {
      const t = now();
      if (!shape.checked) {
        shape.checked = true;
        const keys = Object.keys(m).sort();
        shape.keys = keys.join(",");
        shape.missing = MESSAGE_KEYS.filter((k) => !keys.includes(k));
        shape.extra = keys.filter((k) => !MESSAGE_KEYS.includes(k));
        shape.matches = shape.missing.length === 0;
      }
      const seqs = lastSeq[index];
      const prev = seqs.get(m.conversation_id);
      if (prev !== undefined && m.seq <= prev) counters.outOfOrder++;
      seqs.set(m.conversation_id, m.seq);
      const rec = records.get(m.client_msg_id);
      if (rec === undefined) {
        if (typeof m.client_msg_id === "string" && m.client_msg_id.startsWith(cfg.run_id)) counters.late++;
        else counters.unknown++;
        return;
      }
      if (index !== rec.peer) return; // the sender's own echo (every socket of both members)
      if (rec.delAt !== 0) counters.duplicates++;
      else rec.delAt = t;
    });
  };
  sockets.forEach(wire);

  // Settle before measuring: sockets the server closes soon after they connected (counted and
  // logged as unsolicited disconnects) are opened again, so every step starts with all of them.
  let reopened = 0;
  const timeoutMs = (cfg.connect_timeout_seconds ?? 20) * 1000;
  for (let round = 0; round < 3; round++) {
    await sleep((cfg.settle_seconds ?? 5) * 1000);
    const down = [];
    sockets.forEach((socket, i) => {
      if (!socket.connected) down.push(i);
    });
    if (down.length === 0) break;
    log(`load: ${down.length} socket(s) were closed by the server after connecting; reopening`);
    for (const i of down) {
      sockets[i].close();
      try {
        sockets[i] = await connectOne(clients[i].auth, timeoutMs);
        trackDisconnects(sockets[i], i, counters.disconnects);
        wire(sockets[i], i);
        reopened++;
      } catch (err) {
        log(`load: socket ${i} could not reopen: ${err.message}`);
      }
    }
  }
  const stillDown = sockets.filter((socket) => !socket.connected).length;
  out({ type: "connected", opened: n, failed: 0, errors: conn.errors, seconds: conn.seconds, reopened, still_down: stillDown });
  if (stillDown > 0) {
    closeAll(sockets);
    return { ok: false, error: `${stillDown} load sockets stayed closed`, connect: conn, steps: [] };
  }
  conn.reopened_after_connect = reopened;

  const results = [];
  const eld = monitorEventLoopDelay({ resolution: 10 });
  for (let s = 0; s < cfg.steps.length; s++) {
    const rate = cfg.steps[s];
    const warmMs = cfg.warmup_seconds * 1000;
    const durMs = cfg.step_seconds * 1000;
    const interval = 1000 / rate;
    const total = Math.round((rate * (warmMs + durMs)) / 1000);
    const t0 = now() + 20;
    const mStart = t0 + warmMs;
    const mEnd = mStart + durMs;
    const errors = {};
    let errorCount = 0;
    let ackMismatch = 0;
    let sentInWindow = 0;
    let acksInWindow = 0;
    let deliveredInWindow = 0;
    const sendLag = [];
    records = new Map();

    const sendOne = (k) => {
      const sched = t0 + k * interval;
      const sender = k % n;
      const c = clients[sender];
      const id = `${cfg.run_id}-${s}-${k}`;
      const rec = { sched, peer: c.peer, ackAt: 0, delAt: 0, measured: sched >= mStart && sched < mEnd };
      records.set(id, rec);
      const t = now();
      if (t >= mStart && t < mEnd) sentInWindow++;
      if (rec.measured) sendLag.push(t - sched);
      sockets[sender].emit(
        "message:send",
        { conversation_id: c.conversation_id, client_msg_id: id, kind: "text", body: BODY },
        (ack) => {
          const ta = now();
          if (rec.ackAt !== 0) return;
          rec.ackAt = ta;
          if (!ack || ack.ok !== true) {
            const code = (ack && ack.error && ack.error.code) || "bad_ack";
            errors[code] = (errors[code] ?? 0) + 1;
            errorCount++;
            rec.failed = true;
            return;
          }
          if (!ack.message || ack.message.client_msg_id !== id) ackMismatch++;
          if (ta >= mStart && ta < mEnd) acksInWindow++;
        },
      );
    };

    let windowCpu = null;
    const beginTimer = setTimeout(() => {
      eld.reset();
      eld.enable();
      windowCpu = process.cpuUsage();
      out({ type: "step_begin", step: s, rate });
    }, Math.max(0, mStart - now()));
    const endTimer = setTimeout(() => {
      eld.disable();
      out({ type: "step_end", step: s, rate });
    }, Math.max(0, mEnd - now()));

    // The schedule: on every timer tick send everything that is due.
    await new Promise((resolve) => {
      let k = 0;
      const tick = () => {
        const t = now();
        while (k < total && t0 + k * interval <= t) sendOne(k++);
        if (k >= total) return resolve();
        setTimeout(tick, Math.max(0, t0 + k * interval - now()));
      };
      setTimeout(tick, Math.max(0, t0 - now()));
    });
    await sleep(Math.max(0, mEnd - now()) + 5);
    clearTimeout(beginTimer);
    clearTimeout(endTimer);
    const cpu = windowCpu ? process.cpuUsage(windowCpu) : null;

    // Drain: wait (bounded) until every message of the step is acknowledged and delivered.
    const drainDeadline = now() + (cfg.drain_seconds ?? 10) * 1000;
    const outstanding = () => {
      let k = 0;
      for (const r of records.values()) if (r.ackAt === 0 || (r.delAt === 0 && !r.failed)) k++;
      return k;
    };
    let left = outstanding();
    while (left > 0 && now() < drainDeadline) {
      await sleep(25);
      left = outstanding();
    }
    const drained = left === 0;

    const e2e = [];
    const ackLat = [];
    let unacked = 0;
    let undelivered = 0;
    let measured = 0;
    for (const r of records.values()) {
      if (r.delAt >= mStart && r.delAt < mEnd) deliveredInWindow++;
      if (!r.measured) continue;
      measured++;
      if (r.ackAt === 0) unacked++;
      if (r.delAt === 0 && !r.failed) undelivered++;
      ackLat.push(r.ackAt === 0 ? Infinity : r.ackAt - r.sched);
      if (!r.failed) e2e.push(r.delAt === 0 ? Infinity : r.delAt - r.sched);
    }
    // When the tail happens: the slowest 2 % of the window's messages (at most 200) as [ms
    // after the window opened, e2e ms], to tell stalls (clustered) from queueing (spread).
    const slowest = [...records.values()]
      .filter((r) => r.measured && !r.failed && r.delAt !== 0)
      .map((r) => [Math.round(r.sched - mStart), Math.round((r.delAt - r.sched) * 10) / 10])
      .sort((a, b) => b[1] - a[1])
      .slice(0, Math.min(200, Math.max(1, Math.ceil(measured * 0.02))))
      .sort((a, b) => a[0] - b[0]);
    const seconds = durMs / 1000;
    const result = {
      slowest,
      step: s,
      offered: rate,
      seconds,
      measured,
      sent_per_s: Math.round((sentInWindow / seconds) * 10) / 10,
      ack_per_s: Math.round((acksInWindow / seconds) * 10) / 10,
      delivered_per_s: Math.round((deliveredInWindow / seconds) * 10) / 10,
      e2e_ms: summary(e2e),
      ack_ms: summary(ackLat),
      send_lag_ms: summary(sendLag),
      errors: errorCount,
      error_codes: errors,
      unacked,
      undelivered,
      ack_mismatch: ackMismatch,
      drained,
      loadgen_cpu_pct: cpu ? Math.round(((cpu.user + cpu.system) / 1000 / durMs) * 1000) / 10 : null,
      loadgen_loop_delay_p99_ms: Math.round((eld.percentile(99) / 1e6) * 100) / 100,
    };
    results.push(result);
    out({ type: "step_result", ...result });
    const saturated = !drained || result.delivered_per_s < 0.8 * rate;
    if (saturated && s < cfg.steps.length - 1) {
      log(`step ${s} (${rate} msg/s) saturated the server: skipping the higher steps`);
      for (let r = s + 1; r < cfg.steps.length; r++) results.push({ step: r, offered: cfg.steps[r], skipped: true });
      break;
    }
    await sleep((cfg.pause_seconds ?? 1) * 1000);
  }
  records = new Map();
  closeAll(sockets);
  return { ok: true, connect: { ...conn, sockets: undefined }, steps: results, shape, counters };
}

async function runIdle() {
  const disconnects = {};
  const conn = await connectAll(cfg.idle_auths, "idle", disconnects);
  out({ type: "idle_ready", opened: cfg.idle_auths.length - conn.failed, failed: conn.failed, errors: conn.errors, seconds: conn.seconds });
  // Hold the sockets until the driver says "close" (or the bound runs out).
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, (cfg.idle_hold_seconds ?? 120) * 1000);
    const rl = createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      if (line.trim() === "close") {
        clearTimeout(timer);
        rl.close();
        resolve();
      }
    });
    rl.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const stillOpen = conn.sockets.filter((s) => s && s.connected).length;
  const lost = { ...disconnects };
  closeAll(conn.sockets);
  return {
    ok: conn.failed === 0,
    opened: cfg.idle_auths.length - conn.failed,
    failed: conn.failed,
    errors: conn.errors,
    still_open: stillOpen,
    disconnects_while_held: lost,
    connect_seconds: conn.seconds,
  };
}

const hardStop = setTimeout(() => {
  log("loadgen: hard time limit reached");
  process.exit(3);
}, (cfg.max_seconds ?? 900) * 1000);
hardStop.unref();

try {
  const result = cfg.mode === "idle" ? await runIdle() : await runLoad();
  out({ type: "result", ...result });
  await sleep(200);
  process.exit(0);
} catch (err) {
  log(`loadgen failed: ${err && err.stack ? err.stack : err}`);
  out({ type: "result", ok: false, error: String(err) });
  process.exit(1);
}
