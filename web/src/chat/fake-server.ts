// An in-memory stand-in for the Socket.IO side of the server (docs/protocol.md), for unit tests
// of the chat engine: seq assignment, idempotent sends by client_msg_id, paged sync with
// cursors, receipts, and knobs to lose acks, refuse sends or ask for confirmation.
import type { Link } from "./engine";
import type { Ack, Message, SendPayload, SyncConversation } from "./types";

interface Conversation {
  id: string;
  matchId: string;
  members: [string, string];
  messages: Message[];
  closed: boolean;
  read: Record<string, number>;
  delivered: Record<string, number>;
}

type Handler = (event: string, payload: unknown) => void;

export class FakeServer {
  readonly conversations = new Map<string, Conversation>();
  readonly calls: { user: string; event: string; payload: unknown }[] = [];
  syncPage = 100;
  /** The next N sends are stored but their ack is lost (the call rejects, like a timeout). */
  loseAcks = 0;
  /** The next N sends are refused with this error code before being stored. */
  refuse: { code: string; times: number; retry_after_s?: number } | null = null;
  /** Bodies containing this word need `confirm: true`. */
  confirmWord = "WECHAT";
  private readonly sockets = new Map<string, { user: string; handler: Handler; online: boolean }>();
  private clock = Date.UTC(2026, 10, 20, 9, 0, 0);
  private nextId = 1;

  addConversation(id: string, a: string, b: string): Conversation {
    const conv: Conversation = {
      id,
      matchId: `match-${id}`,
      members: [a, b],
      messages: [],
      closed: false,
      read: {},
      delivered: {},
    };
    this.conversations.set(id, conv);
    return conv;
  }

  /** Store a message as if `sender` sent it from another client (no event unless `notify`). */
  store(conversationId: string, sender: string, body: string, clientMsgId?: string): Message {
    const conv = this.mustGet(conversationId);
    const message: Message = {
      id: `m${this.nextId++}`,
      conversation_id: conversationId,
      seq: conv.messages.length + 1,
      sender_id: sender,
      kind: "text",
      body,
      created_at: new Date((this.clock += 60_000)).toISOString(),
      client_msg_id: clientMsgId ?? `other-${this.nextId}`,
      reply_to: null,
      ai_assisted: false,
    };
    conv.messages.push(message);
    return message;
  }

  /** End a conversation (unmatch / block); no event, so only sync tells the client. */
  mustClose(id: string): void {
    this.mustGet(id).closed = true;
  }

  /** Emit an event to every connected socket of the given users. */
  emit(users: readonly string[], event: string, payload: unknown): void {
    for (const s of this.sockets.values()) {
      if (s.online && users.includes(s.user)) s.handler(event, payload);
    }
  }

  /** A link for `user`'s socket named `sid`; events are delivered to `handler` while online. */
  link(sid: string, user: string, handler: Handler): Link & { setOnline(on: boolean): void } {
    this.sockets.set(sid, { user, handler, online: true });
    return {
      call: (event, payload) => {
        const socket = this.sockets.get(sid);
        if (!socket?.online) return Promise.reject(new Error("disconnected"));
        this.calls.push({ user, event, payload });
        return this.handle(user, event, payload);
      },
      setOnline: (on: boolean) => {
        const socket = this.sockets.get(sid);
        if (socket) socket.online = on;
      },
    };
  }

  private mustGet(id: string): Conversation {
    const conv = this.conversations.get(id);
    if (!conv) throw new Error(`no conversation ${id}`);
    return conv;
  }

  private async handle(user: string, event: string, payload: unknown): Promise<unknown> {
    await Promise.resolve();
    switch (event) {
      case "message:send":
        return this.send(user, payload as SendPayload);
      case "sync":
        return this.sync(user, (payload as { cursors: Record<string, number> }).cursors);
      case "receipt:read":
      case "receipt:delivered": {
        const p = payload as { conversation_id: string; up_to_seq: number };
        const conv = this.mustGet(p.conversation_id);
        const top = Math.min(p.up_to_seq, conv.messages.length);
        conv.delivered[user] = Math.max(conv.delivered[user] ?? 0, top);
        if (event === "receipt:read") conv.read[user] = Math.max(conv.read[user] ?? 0, top);
        const receipt = {
          conversation_id: conv.id,
          user_id: user,
          delivered_seq: conv.delivered[user] ?? 0,
          read_seq: conv.read[user] ?? 0,
        };
        const peer = conv.members.find((m) => m !== user);
        if (peer) this.emit([peer], "receipt:update", receipt);
        return { ok: true, receipt };
      }
      case "typing": {
        const p = payload as { conversation_id: string; active: boolean };
        const conv = this.mustGet(p.conversation_id);
        const peer = conv.members.find((m) => m !== user);
        if (peer) this.emit([peer], "typing", { ...p, user_id: user });
        return { ok: true };
      }
      default:
        return { ok: false, error: { code: "unknown_event", message: event } };
    }
  }

  private send(user: string, p: SendPayload): Ack<{ message: Message }> | Promise<never> {
    const conv = this.conversations.get(p.conversation_id);
    if (!conv || conv.closed || !conv.members.includes(user)) {
      return { ok: false, error: { code: "conversation_not_found", message: "No such conversation." } };
    }
    const existing = conv.messages.find(
      (m) => m.sender_id === user && m.client_msg_id === p.client_msg_id,
    );
    if (existing) return { ok: true, message: existing };
    if (this.refuse && this.refuse.times > 0) {
      this.refuse.times -= 1;
      const error = { code: this.refuse.code, message: "refused" };
      return {
        ok: false,
        error:
          this.refuse.retry_after_s !== undefined
            ? { ...error, retry_after_s: this.refuse.retry_after_s }
            : error,
      };
    }
    if (p.body.includes(this.confirmWord) && !p.confirm) {
      return {
        ok: false,
        error: {
          code: "confirm_required",
          message: "Are you sure?",
          reasons: [{ category: "off_platform_contact", label: "Moving to another app" }],
        },
      };
    }
    const message = this.store(conv.id, user, p.body, p.client_msg_id);
    if (p.ai_suggestion) message.ai_assisted = true;
    this.emit(conv.members, "message:new", message);
    if (this.loseAcks > 0) {
      this.loseAcks -= 1;
      return Promise.reject(new Error("operation has timed out"));
    }
    return { ok: true, message };
  }

  private sync(user: string, cursors: Record<string, number>): unknown {
    const out: SyncConversation[] = [];
    for (const conv of this.conversations.values()) {
      if (conv.closed || !conv.members.includes(user)) continue;
      const since = cursors[conv.id] ?? 0;
      const last = conv.messages.length;
      if (conv.id in cursors && last <= since) continue;
      const after = conv.messages.filter((m) => m.seq > since);
      const page = after.slice(0, this.syncPage);
      out.push({
        conversation_id: conv.id,
        match_id: conv.matchId,
        peer_id: conv.members.find((m) => m !== user) ?? null,
        last_seq: last,
        messages: page,
        limited: after.length > page.length,
        next_cursor: page.at(-1)?.seq ?? since,
      });
    }
    const closed = Object.keys(cursors).filter((id) => this.conversations.get(id)?.closed);
    return { ok: true, conversations: out, closed };
  }
}
