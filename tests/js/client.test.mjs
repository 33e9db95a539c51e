// Drives a live Rapport server with the stock npm socket.io-client (docs/protocol.md).
// Run by tests/realtime/test_js_client.py, which starts the server, creates and matches two
// users, and passes: RAPPORT_URL, TOKEN_A, TOKEN_B, CONVERSATION_ID, USER_A.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { io } from "socket.io-client";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run via tests/realtime/test_js_client.py)`);
  return value;
}

const URL = env("RAPPORT_URL");
const TOKEN_A = env("TOKEN_A");
const TOKEN_B = env("TOKEN_B");
const CONVERSATION_ID = env("CONVERSATION_ID");
const USER_A = env("USER_A");

// A sends 7 messages in all (retry and refused sends included), under the default burst of
// the per-user send limit (RAPPORT_SEND_BURST=20), so no ack is rate_limited.
const WAIT_MS = 10_000;
const ACK_MS = 5_000;
const TEST_MS = 30_000;
const AUTH_CODES = [
  "auth_required",
  "token_invalid",
  "token_expired",
  "session_revoked",
  "account_inactive",
];

/** A fresh socket (own connection, no reconnection). `token === undefined` sends no auth. */
function socketFor(token) {
  const opts = { transports: ["websocket"], reconnection: false, forceNew: true, timeout: WAIT_MS };
  if (token !== undefined) opts.auth = (cb) => cb({ token });
  return io(URL, opts);
}

/** Resolve with `value(...args)` on `event`, reject on `failEvent` or after `ms`. */
function once(socket, event, { failEvent, ms = WAIT_MS, match = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(event, onEvent);
      if (failEvent) socket.off(failEvent, onFail);
    };
    const onEvent = (...args) => {
      if (!match(...args)) return;
      cleanup();
      resolve(args[0]);
    };
    const onFail = (err) => {
      cleanup();
      reject(err instanceof Error ? err : new Error(`${failEvent}: ${JSON.stringify(err)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    socket.on(event, onEvent);
    if (failEvent) socket.on(failEvent, onFail);
  });
}

async function connect(token) {
  const socket = socketFor(token);
  try {
    await once(socket, "connect", { failEvent: "connect_error" });
  } catch (err) {
    socket.close();
    throw new Error(`connect failed: ${err.message} ${JSON.stringify(err.data)}`);
  }
  return socket;
}

/** The `connect_error` a refused handshake produces (fails if the socket connects instead). */
async function refusal(token) {
  const socket = socketFor(token);
  try {
    return await once(socket, "connect_error", { failEvent: "connect" }).catch((err) => {
      throw new Error(`expected connect_error, got: ${err?.message ?? "connect"}`);
    });
  } finally {
    socket.close();
  }
}

function closeAll(...sockets) {
  for (const s of sockets) s?.close();
}

const call = (socket, event, payload) => socket.timeout(ACK_MS).emitWithAck(event, payload);

const newMsgId = (label) => `js-${label}-${randomUUID()}`;

function textPayload(label, body) {
  return {
    conversation_id: CONVERSATION_ID,
    client_msg_id: newMsgId(label),
    kind: "text",
    body,
  };
}

function assertMessage(message, payload) {
  assert.equal(typeof message, "object");
  assert.ok(Number.isInteger(message.seq) && message.seq > 0, `seq: ${message.seq}`);
  assert.equal(message.sender_id, USER_A);
  assert.equal(message.conversation_id, CONVERSATION_ID);
  assert.equal(message.client_msg_id, payload.client_msg_id);
  assert.equal(message.kind, "text");
  assert.equal(message.body, payload.body);
  assert.equal(typeof message.id, "string");
  assert.equal(typeof message.created_at, "string");
  assert.ok("reply_to" in message, "message has reply_to");
}

function assertErrorAck(ack, code) {
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(typeof ack.error, "object");
  assert.equal(typeof ack.error.code, "string");
  assert.equal(typeof ack.error.message, "string");
  if (code) assert.equal(ack.error.code, code, JSON.stringify(ack));
}

test("message:send acks the committed message, B gets message:new, retry is idempotent", {
  timeout: TEST_MS,
}, async () => {
  let a;
  let b;
  try {
    a = await connect(TOKEN_A);
    b = await connect(TOKEN_B);
    const payload = textPayload("send", "hello from node 你好");
    const deliveredToB = once(b, "message:new", {
      match: (m) => m?.client_msg_id === payload.client_msg_id,
    });
    deliveredToB.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile

    const ack = await call(a, "message:send", payload);
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assertMessage(ack.message, payload);

    assert.deepEqual(await deliveredToB, ack.message);

    const retry = await call(a, "message:send", payload);
    assert.deepEqual(retry, ack);
  } finally {
    closeAll(a, b);
  }
});

test("a bad payload gets an error ack and the socket stays connected", {
  timeout: TEST_MS,
}, async () => {
  let a;
  try {
    a = await connect(TOKEN_A);
    assertErrorAck(await call(a, "message:send", { conversation_id: "nope" }), "validation_error");
    assertErrorAck(await call(a, "message:send", null), "validation_error");
    assertErrorAck(
      await call(a, "message:send", { ...textPayload("empty", "x"), body: "" }),
      "validation_error",
    );
    assertErrorAck(
      await call(a, "message:send", { ...textPayload("nomember", "x"), conversation_id: randomUUID() }),
      "conversation_not_found",
    );
    assertErrorAck(await call(a, "sync", { cursors: { "not-a-uuid": 0 } }), "validation_error");
    assert.equal(a.connected, true);

    const payload = textPayload("after-bad", "still here");
    const ack = await call(a, "message:send", payload);
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assertMessage(ack.message, payload);
  } finally {
    closeAll(a);
  }
});

test("a bad token is refused with connect_error data {code, message}", {
  timeout: TEST_MS,
}, async () => {
  const err = await refusal("not-a-token");
  assert.ok(err.data, `connect_error has no data (message: ${JSON.stringify(err.message)})`);
  assert.equal(typeof err.data.code, "string");
  assert.equal(typeof err.data.message, "string");
  assert.ok(AUTH_CODES.includes(err.data.code), `code: ${err.data.code}`);
  assert.equal(err.data.code, "token_invalid");
});

test("no auth at all is refused with code auth_required", { timeout: TEST_MS }, async () => {
  for (const token of [undefined, ""]) {
    const err = await refusal(token);
    assert.ok(err.data, `connect_error has no data (message: ${JSON.stringify(err.message)})`);
    assert.equal(err.data.code, "auth_required", `token=${JSON.stringify(token)}`);
    assert.equal(typeof err.data.message, "string");
  }
});

test("sync returns the sent messages in seq order", { timeout: TEST_MS }, async () => {
  let a;
  let b;
  try {
    a = await connect(TOKEN_A);
    b = await connect(TOKEN_B);
    const sent = [];
    for (const body of ["sync one", "sync two", "sync three"]) {
      const ack = await call(a, "message:send", textPayload("sync", body));
      assert.equal(ack.ok, true, JSON.stringify(ack));
      sent.push(ack.message);
    }

    for (const socket of [a, b]) {
      const synced = await call(socket, "sync", { cursors: {} });
      assert.equal(synced.ok, true, JSON.stringify(synced));
      assert.ok(Array.isArray(synced.conversations));
      const conv = synced.conversations.find((c) => c.conversation_id === CONVERSATION_ID);
      assert.ok(conv, `conversation ${CONVERSATION_ID} missing from sync`);
      assert.ok(Array.isArray(conv.messages));
      assert.equal(typeof conv.limited, "boolean");
      const seqs = conv.messages.map((m) => m.seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), "messages in seq order");
      assert.equal(new Set(seqs).size, seqs.length, "seqs unique");
      const byId = new Map(conv.messages.map((m) => [m.id, m]));
      for (const message of sent) assert.deepEqual(byId.get(message.id), message);
      const positions = sent.map((m) => conv.messages.findIndex((x) => x.id === m.id));
      assert.deepEqual(positions, [...positions].sort((x, y) => x - y));
    }

    // A cursor at the last seq held leaves nothing to sync for this conversation.
    const last = sent.at(-1).seq;
    const empty = await call(b, "sync", { cursors: { [CONVERSATION_ID]: last } });
    assert.equal(empty.ok, true, JSON.stringify(empty));
    assert.equal(
      empty.conversations.find((c) => c.conversation_id === CONVERSATION_ID),
      undefined,
    );
  } finally {
    closeAll(a, b);
  }
});
