import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  ChatEngine,
  advanceCursor,
  deliveryOf,
  mergeMessages,
  type ConversationState,
} from "./engine";
import { FakeServer } from "./fake-server";
import type { Message } from "./types";

const ME = "user-me";
const PEER = "user-peer";
const CONV = "conv-1";

interface Harness {
  server: FakeServer;
  engine: ChatEngine;
  socket: ReturnType<FakeServer["link"]>;
  /** Take the socket down (as the browser going offline) or bring it back and resync. */
  offline(): void;
  online(): Promise<void>;
}

function harness(options: { connect?: boolean } = {}): Harness {
  const server = new FakeServer();
  server.addConversation(CONV, ME, PEER);
  let n = 0;
  let engine: ChatEngine | null = null;
  const socket = server.link("sid-me", ME, (event, payload) => engine?.receive(event, payload));
  engine = new ChatEngine({ me: ME, link: socket, newId: () => `web-test-${++n}`, receiptDelayMs: 10 });
  const h: Harness = {
    server,
    engine,
    socket,
    offline() {
      socket.setOnline(false);
      engine?.disconnected();
    },
    async online() {
      socket.setOnline(true);
      await engine?.connected();
    },
  };
  if (options.connect !== false) void engine.connected();
  return h;
}

function conv(engine: ChatEngine, id = CONV): ConversationState {
  const c = engine.conversation(id);
  if (!c) throw new Error(`no conversation ${id}`);
  return c;
}

const bodies = (c: ConversationState) => c.messages.map((m) => m.body);
const seqs = (c: ConversationState) => c.messages.map((m) => m.seq);

/** Let every pending promise and timer (up to `ms`) run. */
async function settle(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function msg(seq: number, sender = PEER, id = `x${seq}`): Message {
  return {
    id,
    conversation_id: CONV,
    seq,
    sender_id: sender,
    kind: "text",
    body: `b${seq}`,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
    client_msg_id: `c-${id}`,
    reply_to: null,
    ai_assisted: false,
  };
}

describe("merging", () => {
  it("keeps seq order and drops duplicates by id and seq", () => {
    const { messages, added } = mergeMessages([msg(1), msg(3)], [msg(2), msg(3), msg(1, PEER, "other")]);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(added.map((m) => m.seq)).toEqual([2]);
  });

  it("advances the cursor over contiguous seqs only", () => {
    expect(advanceCursor(0, [msg(1), msg(2), msg(4)])).toBe(2);
    expect(advanceCursor(2, [msg(1), msg(2), msg(3)])).toBe(3);
    expect(advanceCursor(5, [msg(1)])).toBe(5);
  });
});

describe("sync", () => {
  it("loads every conversation on connect, following limited pages", async () => {
    const { server, engine } = harness({ connect: false });
    for (let i = 1; i <= 7; i++) server.store(CONV, i % 2 ? PEER : ME, `hello ${i}`);
    server.syncPage = 3;
    await engine.connected();
    await settle();
    const c = conv(engine);
    expect(seqs(c)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(c.cursor).toBe(7);
    expect(c.peerId).toBe(PEER);
    const syncCalls = server.calls.filter((x) => x.event === "sync");
    expect(syncCalls.length).toBe(3);
    expect(syncCalls.at(-1)?.payload).toEqual({ cursors: { [CONV]: 6 } });
  });

  it("dedupes a message that arrives twice and through sync", async () => {
    const { server, engine } = harness();
    await settle();
    const m = server.store(CONV, PEER, "hi");
    engine.receive("message:new", m);
    engine.receive("message:new", { ...m });
    await engine.resync();
    await settle();
    expect(bodies(conv(engine))).toEqual(["hi"]);
    expect(conv(engine).unread).toBe(1);
  });

  it("detects a seq gap and syncs the missing messages", async () => {
    const { server, engine } = harness();
    await settle();
    const m1 = server.store(CONV, PEER, "one");
    engine.receive("message:new", m1);
    server.store(CONV, PEER, "two (missed)");
    server.store(CONV, PEER, "three (missed)");
    const m4 = server.store(CONV, PEER, "four");
    const before = server.calls.filter((x) => x.event === "sync").length;
    engine.receive("message:new", m4);
    expect(seqs(conv(engine))).toEqual([1, 4]);
    await settle();
    expect(server.calls.filter((x) => x.event === "sync").length).toBe(before + 1);
    expect(bodies(conv(engine))).toEqual(["one", "two (missed)", "three (missed)", "four"]);
    expect(conv(engine).cursor).toBe(4);
  });

  it("resyncs after a reconnect and drops conversations closed meanwhile", async () => {
    const h = harness();
    h.server.addConversation("conv-2", ME, "user-3");
    await settle();
    expect(Object.keys(h.engine.getSnapshot().conversations).sort()).toEqual([CONV, "conv-2"]);
    h.offline();
    expect(h.engine.getSnapshot().connection).toBe("reconnecting");
    h.server.store(CONV, PEER, "while you were away");
    h.server.store(CONV, PEER, "still away");
    h.server.mustClose("conv-2");
    await h.online();
    await settle();
    expect(h.engine.getSnapshot().connection).toBe("online");
    expect(bodies(conv(h.engine))).toEqual(["while you were away", "still away"]);
    expect(conv(h.engine, "conv-2").closed).toBe("closed");
  });

  it("shows the offline state from the browser and reconnecting otherwise", async () => {
    const h = harness();
    await settle();
    h.engine.setNetwork(false);
    h.offline();
    expect(h.engine.getSnapshot().connection).toBe("offline");
    h.engine.setNetwork(true);
    expect(h.engine.getSnapshot().connection).toBe("reconnecting");
    await h.online();
    expect(h.engine.getSnapshot().connection).toBe("online");
  });

  it("a new conversation announced by match:new arrives through sync", async () => {
    const seen: string[] = [];
    const server = new FakeServer();
    server.addConversation(CONV, ME, PEER);
    const engine: ChatEngine = new ChatEngine({
      me: ME,
      link: server.link("s", ME, (e, p) => engine.receive(e, p)),
      onNewConversation: (id) => seen.push(id),
    });
    await engine.connected();
    server.addConversation("conv-new", ME, "user-9");
    engine.receive("match:new", { match_id: "match-conv-new", conversation_id: "conv-new" });
    await settle();
    expect(conv(engine, "conv-new").peerId).toBe("user-9");
    expect(seen).toEqual([CONV, "conv-new"]);
  });
});

describe("sending", () => {
  it("shows the message at once, then the stored one with its seq", async () => {
    const { server, engine } = harness();
    await settle();
    const id = engine.send(CONV, "hello there");
    expect(conv(engine).pending.map((p) => [p.body, p.status])).toEqual([["hello there", "sending"]]);
    await settle();
    const c = conv(engine);
    expect(c.pending).toEqual([]);
    expect(c.messages.map((m) => [m.body, m.client_msg_id, m.seq])).toEqual([["hello there", id, 1]]);
    expect(server.conversations.get(CONV)?.messages.length).toBe(1);
  });

  it("retries a lost ack under the same client_msg_id without duplicating", async () => {
    const { server, engine } = harness();
    await settle();
    server.loseAcks = 1;
    const id = engine.send(CONV, "are you there?");
    await settle(5000);
    const sends = server.calls.filter((c) => c.event === "message:send");
    expect(sends.length).toBeGreaterThanOrEqual(1);
    for (const s of sends) expect((s.payload as { client_msg_id: string }).client_msg_id).toBe(id);
    expect(server.conversations.get(CONV)?.messages.length).toBe(1);
    expect(bodies(conv(engine))).toEqual(["are you there?"]);
    expect(conv(engine).pending).toEqual([]);
  });

  it("retries after a timeout with the same id when the event was missed too", async () => {
    const { server, engine, socket } = harness();
    await settle();
    // The server stores the message, but neither the ack nor message:new reach us.
    server.loseAcks = 1;
    socket.setOnline(true);
    const realEmit = server.emit.bind(server);
    server.emit = () => {};
    const id = engine.send(CONV, "second try");
    await settle();
    server.emit = realEmit;
    expect(conv(engine).pending[0]?.status).toBe("sending");
    await settle(1000);
    const sends = server.calls.filter((c) => c.event === "message:send");
    expect(sends.map((s) => (s.payload as { client_msg_id: string }).client_msg_id)).toEqual([id, id]);
    expect(server.conversations.get(CONV)?.messages.length).toBe(1);
    expect(conv(engine).pending).toEqual([]);
    expect(bodies(conv(engine))).toEqual(["second try"]);
  });

  it("queues sends while offline and flushes them on reconnect", async () => {
    const h = harness();
    await settle();
    h.offline();
    const a = h.engine.send(CONV, "queued one");
    const b = h.engine.send(CONV, "queued two");
    await settle(10_000);
    expect(conv(h.engine).pending.map((p) => p.status)).toEqual(["sending", "sending"]);
    expect(h.server.calls.filter((c) => c.event === "message:send")).toEqual([]);
    await h.online();
    await settle();
    const stored = h.server.conversations.get(CONV)?.messages ?? [];
    expect(stored.map((m) => m.client_msg_id)).toEqual([a, b]);
    expect(bodies(conv(h.engine))).toEqual(["queued one", "queued two"]);
    expect(conv(h.engine).pending).toEqual([]);
  });

  it("does not resend what the server stored before the connection dropped", async () => {
    const h = harness();
    await settle();
    h.server.loseAcks = 1;
    const realEmit = h.server.emit.bind(h.server);
    h.server.emit = () => {};
    const id = h.engine.send(CONV, "stored, ack lost");
    await settle();
    h.offline();
    h.server.emit = realEmit;
    await h.online();
    await settle();
    const sends = h.server.calls.filter((c) => c.event === "message:send");
    expect(sends.length).toBe(1);
    expect(conv(h.engine).messages.map((m) => m.client_msg_id)).toEqual([id]);
    expect(conv(h.engine).pending).toEqual([]);
  });

  it("marks a send failed after the automatic attempts; retry reuses the id", async () => {
    const { server, engine } = harness();
    await settle();
    server.refuse = { code: "unavailable", times: 3 };
    const id = engine.send(CONV, "flaky");
    await settle(10_000);
    const p = conv(engine).pending[0];
    expect(p?.status).toBe("failed");
    expect(p?.error?.code).toBe("unavailable");
    engine.retry(id);
    await settle();
    expect(conv(engine).pending).toEqual([]);
    const ids = server.calls
      .filter((c) => c.event === "message:send")
      .map((c) => (c.payload as { client_msg_id: string }).client_msg_id);
    expect(new Set(ids)).toEqual(new Set([id]));
    expect(ids.length).toBe(4);
  });

  it("waits out rate limiting and sends again", async () => {
    const { server, engine } = harness();
    await settle();
    server.refuse = { code: "rate_limited", times: 1, retry_after_s: 2 };
    engine.send(CONV, "slow down");
    await settle(1000);
    expect(conv(engine).pending[0]?.status).toBe("sending");
    await settle(1500);
    expect(bodies(conv(engine))).toEqual(["slow down"]);
  });

  it("does not retry errors that a retry cannot fix", async () => {
    const { server, engine } = harness();
    await settle();
    server.mustClose(CONV);
    engine.send(CONV, "too late");
    await settle(10_000);
    expect(conv(engine).pending[0]?.status).toBe("failed");
    expect(conv(engine).pending[0]?.error?.code).toBe("conversation_not_found");
    expect(server.calls.filter((c) => c.event === "message:send").length).toBe(1);
  });

  it("asks for confirmation and resends the same payload with confirm: true", async () => {
    const { server, engine } = harness();
    await settle();
    const id = engine.send(CONV, "add me on WECHAT", { aiSuggestion: false });
    await settle();
    const p = conv(engine).pending[0];
    expect(p?.status).toBe("confirm");
    expect(p?.reasons).toEqual([{ category: "off_platform_contact", label: "Moving to another app" }]);
    engine.confirm(id);
    await settle();
    const sends = server.calls.filter((c) => c.event === "message:send").map((c) => c.payload);
    expect(sends).toEqual([
      { conversation_id: CONV, client_msg_id: id, kind: "text", body: "add me on WECHAT" },
      {
        conversation_id: CONV,
        client_msg_id: id,
        kind: "text",
        body: "add me on WECHAT",
        confirm: true,
      },
    ]);
    expect(bodies(conv(engine))).toEqual(["add me on WECHAT"]);
  });

  it("can discard a message the user chose not to send", async () => {
    const { engine } = harness();
    await settle();
    const id = engine.send(CONV, "WECHAT me");
    await settle();
    expect(engine.discard(id)?.body).toBe("WECHAT me");
    expect(conv(engine).pending).toEqual([]);
  });

  it("marks AI suggestions so the server can label them", async () => {
    const { server, engine } = harness();
    await settle();
    engine.send(CONV, "What made you smile today?", { aiSuggestion: true });
    await settle();
    const sent = server.calls.find((c) => c.event === "message:send")?.payload;
    expect(sent).toMatchObject({ ai_suggestion: true });
    expect(conv(engine).messages[0]?.ai_assisted).toBe(true);
  });

  it("keeps pending messages across a reload", async () => {
    const first = harness();
    await settle();
    first.offline();
    first.engine.send(CONV, "kept");
    const saved = first.engine.pendingMessages();
    expect(saved.length).toBe(1);

    const second = new FakeServer();
    second.conversations.set(CONV, first.server.conversations.get(CONV)!);
    let engine: ChatEngine | null = null;
    const link = second.link("s2", ME, (e, p) => engine?.receive(e, p));
    engine = new ChatEngine({ me: ME, link });
    engine.seed([
      {
        id: CONV,
        match_id: "m",
        peer_id: PEER,
        created_at: new Date().toISOString(),
        closed: false,
        last_seq: 0,
        last_message: null,
        unread_count: 0,
        read_seq: 0,
        peer_delivered_seq: 0,
        peer_read_seq: null,
      },
    ]);
    engine.restorePending(saved);
    await engine.connected();
    await settle();
    expect(bodies(conv(engine))).toEqual(["kept"]);
    expect(conv(engine).messages[0]?.client_msg_id).toBe(saved[0]?.clientMsgId);
  });
});

describe("receipts, typing and presence", () => {
  it("derives sent / delivered / read from the peer's receipts", async () => {
    const { server, engine } = harness();
    await settle();
    engine.send(CONV, "one");
    engine.send(CONV, "two");
    await settle();
    const c0 = conv(engine);
    expect(c0.messages.map((m) => deliveryOf(c0, m))).toEqual(["sent", "sent"]);
    const peerLink = server.link("sid-peer", PEER, () => {});
    await peerLink.call("receipt:delivered", { conversation_id: CONV, up_to_seq: 2 });
    await peerLink.call("receipt:read", { conversation_id: CONV, up_to_seq: 1 });
    const c = conv(engine);
    expect(c.messages.map((m) => deliveryOf(c, m))).toEqual(["read", "delivered"]);
  });

  it("sends delivered for new messages, and read for the conversation on screen", async () => {
    const { server, engine } = harness();
    await settle();
    engine.receive("message:new", server.store(CONV, PEER, "hey"));
    await settle(20);
    const receipts = () => server.calls.filter((c) => c.event.startsWith("receipt:"));
    expect(receipts().map((c) => c.event)).toEqual(["receipt:delivered"]);
    expect(conv(engine).unread).toBe(1);
    engine.setActive(CONV, true);
    await settle(20);
    expect(receipts().map((c) => [c.event, c.payload])).toEqual([
      ["receipt:delivered", { conversation_id: CONV, up_to_seq: 1 }],
      ["receipt:read", { conversation_id: CONV, up_to_seq: 1 }],
    ]);
    expect(conv(engine).unread).toBe(0);
    engine.receive("message:new", server.store(CONV, PEER, "while reading"));
    await settle(20);
    expect(conv(engine).unread).toBe(0);
    expect(receipts().at(-1)?.payload).toEqual({ conversation_id: CONV, up_to_seq: 2 });
    engine.setVisible(false);
    engine.receive("message:new", server.store(CONV, PEER, "tab hidden"));
    await settle(20);
    expect(conv(engine).unread).toBe(1);
    expect(receipts().at(-1)?.event).toBe("receipt:delivered");
  });

  it("marks messages delivered on connect even before their history is loaded", async () => {
    const { server, engine } = harness({ connect: false });
    server.store(CONV, PEER, "one");
    server.store(CONV, PEER, "two");
    engine.seed([
      {
        id: CONV,
        match_id: "m",
        peer_id: PEER,
        created_at: "2026-11-01T00:00:00Z",
        closed: false,
        last_seq: 2,
        last_message: null,
        unread_count: 2,
        read_seq: 0,
        peer_delivered_seq: 0,
        peer_read_seq: null,
      },
    ]);
    await engine.connected();
    await settle(20);
    const receipts = server.calls.filter((c) => c.event.startsWith("receipt:"));
    expect(receipts.map((c) => [c.event, c.payload])).toEqual([
      ["receipt:delivered", { conversation_id: CONV, up_to_seq: 2 }],
    ]);
    expect(conv(engine).unread).toBe(2);
  });

  it("shows the peer typing until they stop, send, or the indicator lapses", async () => {
    const { server, engine } = harness();
    await settle();
    engine.receive("typing", { conversation_id: CONV, user_id: PEER, active: true });
    expect(conv(engine).peerTyping).toBe(true);
    engine.receive("typing", { conversation_id: CONV, user_id: PEER, active: false });
    expect(conv(engine).peerTyping).toBe(false);
    engine.receive("typing", { conversation_id: CONV, user_id: PEER, active: true });
    engine.receive("message:new", server.store(CONV, PEER, "done typing"));
    expect(conv(engine).peerTyping).toBe(false);
    engine.receive("typing", { conversation_id: CONV, user_id: PEER, active: true });
    await settle(9000);
    expect(conv(engine).peerTyping).toBe(false);
  });

  it("announces my typing throttled and ends it when idle", async () => {
    const { server, engine } = harness();
    await settle();
    const typing = () => server.calls.filter((c) => c.event === "typing").map((c) => c.payload);
    engine.typing(CONV, true);
    await settle(500);
    engine.typing(CONV, true);
    await settle(500);
    expect(typing()).toEqual([{ conversation_id: CONV, active: true }]);
    await settle(4000);
    expect(typing()).toEqual([
      { conversation_id: CONV, active: true },
      { conversation_id: CONV, active: false },
    ]);
  });

  it("follows the peer's presence", async () => {
    const { engine } = harness();
    await settle();
    engine.receive("presence:update", { user_id: PEER, online: true, last_seen_at: null });
    expect(conv(engine).peerOnline).toBe(true);
    engine.receive("presence:update", {
      user_id: PEER,
      online: false,
      last_seen_at: "2026-11-20T10:00:00Z",
    });
    expect(conv(engine).peerOnline).toBe(false);
    expect(conv(engine).peerLastSeenAt).toBe("2026-11-20T10:00:00Z");
  });

  it("closes a conversation on conversation:closed", async () => {
    const { engine } = harness();
    await settle();
    engine.receive("conversation:closed", { conversation_id: CONV, reason: "unmatched" });
    expect(conv(engine).closed).toBe("unmatched");
  });
});

describe("history", () => {
  it("merges REST pages with live messages and knows when older ones exist", async () => {
    const { server, engine } = harness({ connect: false });
    for (let i = 1; i <= 5; i++) server.store(CONV, PEER, `m${i}`);
    engine.seed([
      {
        id: CONV,
        match_id: "m",
        peer_id: PEER,
        created_at: "2026-11-01T00:00:00Z",
        closed: false,
        last_seq: 5,
        last_message: server.conversations.get(CONV)!.messages[4]!,
        unread_count: 2,
        read_seq: 3,
        peer_delivered_seq: 0,
        peer_read_seq: null,
      },
    ]);
    expect(conv(engine).unread).toBe(2);
    expect(conv(engine).historyLoaded).toBe(false);
    await engine.connected();
    await settle();
    // Seeded at last_seq 5: sync has nothing new, so nothing is fetched twice.
    expect(conv(engine).messages).toEqual([]);
    const all = server.conversations.get(CONV)!.messages;
    engine.loadPage(CONV, { messages: all.slice(3), has_more: true, next_before: 4, next_after: 5 }, "latest");
    expect(seqs(conv(engine))).toEqual([4, 5]);
    expect(conv(engine).hasOlder).toBe(true);
    engine.loadPage(CONV, { messages: all.slice(0, 3), has_more: false, next_before: 1, next_after: 3 }, "older");
    expect(seqs(conv(engine))).toEqual([1, 2, 3, 4, 5]);
    expect(conv(engine).hasOlder).toBe(false);
    engine.receive("message:new", server.store(CONV, PEER, "m6"));
    expect(conv(engine).cursor).toBe(6);
  });
});
