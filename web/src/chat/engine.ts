// The chat sync engine: everything about conversations and messages that is not React.
//
// Correctness comes from `sync` (docs/protocol.md): on every (re)connect the engine sends its
// cursors, merges what comes back, and follows `limited` pages. Live events are hints: every
// message is deduplicated by id, and a seq gap (seq > cursor + 1) triggers a sync. Sends are
// optimistic: a pending message shows at once and is (re)sent under the same client_msg_id until
// the server acknowledges it, so a retry never duplicates.
import type {
  Ack,
  AckError,
  ClosedEvent,
  ConfirmReason,
  ConversationOut,
  Message,
  MessagePage,
  PresenceEvent,
  Receipt,
  SendPayload,
  SyncAck,
  SyncConversation,
  TypingEvent,
} from "./types";

/** What the engine needs from the socket: an acknowledged call that rejects on timeout. */
export interface Link {
  call(event: string, payload: unknown): Promise<unknown>;
}

export type ConnectionState = "connecting" | "online" | "reconnecting" | "offline";
export type PendingStatus = "sending" | "failed" | "confirm";
export type DeliveryState = "sending" | "failed" | "confirm" | "sent" | "delivered" | "read";

export interface PendingMessage {
  clientMsgId: string;
  conversationId: string;
  body: string;
  aiSuggestion: boolean;
  confirm: boolean;
  createdAt: string;
  status: PendingStatus;
  error: AckError | null;
  reasons: ConfirmReason[];
  attempts: number;
}

export interface ConversationState {
  id: string;
  matchId: string | null;
  peerId: string | null;
  createdAt: string;
  lastSeq: number;
  /** Everything with seq <= cursor is known (held, or deliberately not loaded). */
  cursor: number;
  messages: readonly Message[];
  pending: readonly PendingMessage[];
  /** The newest page was loaded (REST) or the conversation was synced from its start. */
  historyLoaded: boolean;
  hasOlder: boolean;
  lastMessage: Message | null;
  unread: number;
  readSeq: number;
  peerDeliveredSeq: number;
  peerReadSeq: number | null;
  peerOnline: boolean | null;
  peerLastSeenAt: string | null;
  peerTyping: boolean;
  closed: string | null;
}

export interface ChatSnapshot {
  connection: ConnectionState;
  syncing: boolean;
  conversations: Readonly<Record<string, ConversationState>>;
}

export interface EngineOptions {
  me: string;
  link: Link;
  /** Automatic attempts of one send before it shows as failed (then the user retries). */
  maxAutoAttempts?: number;
  /** A peer's typing indicator disappears after this long without a refresh. */
  typingTtlMs?: number;
  /** While the user types, `typing: active` is refreshed this often. */
  typingRefreshMs?: number;
  /** `typing: false` is sent after this long without a keystroke. */
  typingIdleMs?: number;
  receiptDelayMs?: number;
  newId?: () => string;
  now?: () => Date;
  onNewConversation?: (conversationId: string) => void;
  onError?: (error: AckError) => void;
}

const SYNC_ROUNDS = 50;

export function newClientMsgId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return `web-${c.randomUUID()}`;
  const rand = Math.random().toString(36).slice(2) + Date.now().toString(36);
  return `web-${rand}`;
}

function isAck<T extends object>(value: unknown): value is Ack<T> {
  return typeof value === "object" && value !== null && "ok" in value;
}

function ackError(value: unknown, fallback: string): AckError {
  if (isAck<object>(value) && !value.ok && value.error && typeof value.error.code === "string") {
    return value.error;
  }
  return { code: fallback, message: fallback };
}

/** Insert messages into a seq-ordered list, dropping duplicates (by id and by seq). */
export function mergeMessages(
  existing: readonly Message[],
  incoming: readonly Message[],
): { messages: Message[]; added: Message[] } {
  const ids = new Set(existing.map((m) => m.id));
  const seqs = new Set(existing.map((m) => m.seq));
  const added: Message[] = [];
  for (const m of incoming) {
    if (ids.has(m.id) || seqs.has(m.seq)) continue;
    ids.add(m.id);
    seqs.add(m.seq);
    added.push(m);
  }
  if (added.length === 0) return { messages: existing as Message[], added };
  const messages = [...existing, ...added].sort((a, b) => a.seq - b.seq);
  return { messages, added };
}

/** Advance a cursor over the seqs that are now contiguous after it. */
export function advanceCursor(cursor: number, messages: readonly Message[]): number {
  let next = cursor;
  for (const m of messages) {
    if (m.seq === next + 1) next = m.seq;
    else if (m.seq > next + 1) break;
  }
  return next;
}

function blankConversation(id: string, now: Date): ConversationState {
  return {
    id,
    matchId: null,
    peerId: null,
    createdAt: now.toISOString(),
    lastSeq: 0,
    cursor: 0,
    messages: [],
    pending: [],
    historyLoaded: true,
    hasOlder: false,
    lastMessage: null,
    unread: 0,
    readSeq: 0,
    peerDeliveredSeq: 0,
    peerReadSeq: null,
    peerOnline: null,
    peerLastSeenAt: null,
    peerTyping: false,
    closed: null,
  };
}

/** The delivery state of one of my messages, from the peer's receipts. */
export function deliveryOf(conv: ConversationState, message: Message): DeliveryState {
  if (conv.peerReadSeq !== null && message.seq <= conv.peerReadSeq) return "read";
  if (message.seq <= conv.peerDeliveredSeq) return "delivered";
  return "sent";
}

export class ChatEngine {
  readonly me: string;
  private readonly link: Link;
  private readonly opts: Required<
    Pick<
      EngineOptions,
      "maxAutoAttempts" | "typingTtlMs" | "typingRefreshMs" | "typingIdleMs" | "receiptDelayMs"
    >
  >;
  private readonly newId: () => string;
  private readonly now: () => Date;
  private readonly onNewConversation: ((id: string) => void) | undefined;
  private readonly onError: ((error: AckError) => void) | undefined;
  private state: ChatSnapshot;
  private readonly listeners = new Set<() => void>();
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private gapTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly inflight = new Set<string>();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly receiptTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly sentDelivered = new Map<string, number>();
  private readonly sentRead = new Map<string, number>();
  private readonly myTyping = new Map<
    string,
    { sentAt: number; idle: ReturnType<typeof setTimeout> | null }
  >();
  private active: string | null = null;
  private visible = true;
  private network = true;
  private disposed = false;

  constructor(options: EngineOptions) {
    this.me = options.me;
    this.link = options.link;
    this.opts = {
      maxAutoAttempts: options.maxAutoAttempts ?? 3,
      typingTtlMs: options.typingTtlMs ?? 8000,
      typingRefreshMs: options.typingRefreshMs ?? 3000,
      typingIdleMs: options.typingIdleMs ?? 4000,
      receiptDelayMs: options.receiptDelayMs ?? 150,
    };
    this.newId = options.newId ?? newClientMsgId;
    this.now = options.now ?? (() => new Date());
    this.onNewConversation = options.onNewConversation;
    this.onError = options.onError;
    this.state = { connection: "connecting", syncing: false, conversations: {} };
  }

  // -- store ------------------------------------------------------------------------------

  getSnapshot = (): ChatSnapshot => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  conversation(id: string): ConversationState | undefined {
    return this.state.conversations[id];
  }

  private commit(next: Partial<ChatSnapshot>): void {
    this.state = { ...this.state, ...next };
    for (const l of [...this.listeners]) l();
  }

  private put(conv: ConversationState): void {
    this.commit({ conversations: { ...this.state.conversations, [conv.id]: conv } });
  }

  private update(id: string, fn: (c: ConversationState) => ConversationState): void {
    const current = this.state.conversations[id];
    if (!current) return;
    const next = fn(current);
    if (next !== current) this.put(next);
  }

  dispose(): void {
    this.disposed = true;
    for (const t of [
      ...this.retryTimers.values(),
      ...this.typingTimers.values(),
      ...this.receiptTimers.values(),
    ]) {
      clearTimeout(t);
    }
    for (const t of this.myTyping.values()) if (t.idle) clearTimeout(t.idle);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.listeners.clear();
  }

  // -- seeding from REST ------------------------------------------------------------------

  /** Conversations from `GET /conversations`: summaries only; history loads on open. */
  seed(list: readonly ConversationOut[]): void {
    const conversations = { ...this.state.conversations };
    for (const c of list) {
      const prev = conversations[c.id];
      const base = prev ?? { ...blankConversation(c.id, this.now()), historyLoaded: false };
      const cursor = prev ? prev.cursor : c.last_seq;
      conversations[c.id] = {
        ...base,
        matchId: c.match_id,
        peerId: c.peer_id,
        createdAt: c.created_at,
        lastSeq: Math.max(base.lastSeq, c.last_seq),
        cursor,
        hasOlder: prev ? base.hasOlder : c.last_seq > 0,
        lastMessage: newest(base.lastMessage, c.last_message ?? null),
        unread: prev ? base.unread : c.unread_count,
        readSeq: Math.max(base.readSeq, c.read_seq),
        peerDeliveredSeq: Math.max(base.peerDeliveredSeq, c.peer_delivered_seq),
        peerReadSeq: maxOrNull(base.peerReadSeq, c.peer_read_seq),
        peerOnline: c.peer_online ?? base.peerOnline,
        peerLastSeenAt: c.peer_last_seen_at ?? base.peerLastSeenAt,
        closed: c.closed ? (base.closed ?? "closed") : base.closed,
      };
    }
    this.commit({ conversations });
  }

  /** A page of `GET /conversations/{id}/messages`: the newest page, or an older one. */
  loadPage(conversationId: string, page: MessagePage, kind: "latest" | "older"): void {
    const conv = this.state.conversations[conversationId] ?? {
      ...blankConversation(conversationId, this.now()),
      historyLoaded: false,
    };
    const { messages, added } = mergeMessages(conv.messages, page.messages);
    const top = page.messages.at(-1)?.seq ?? 0;
    // The newest page is authoritative up to its last seq: everything below it is either held
    // or reachable with `before` (hasOlder).
    const cursor = kind === "latest" ? Math.max(conv.cursor, top) : conv.cursor;
    const oldestLoaded = messages[0]?.seq ?? 1;
    const next: ConversationState = {
      ...conv,
      messages,
      cursor: advanceCursor(cursor, messages),
      lastSeq: Math.max(conv.lastSeq, top),
      historyLoaded: conv.historyLoaded || kind === "latest",
      hasOlder: page.has_more && oldestLoaded > 1,
      lastMessage: newest(conv.lastMessage, messages.at(-1) ?? null),
    };
    this.put(this.dropAcked(next, added));
    this.scheduleReceipt(conversationId);
  }

  /** The lowest seq held, for `?before=` (null when nothing is held). */
  oldestSeq(conversationId: string): number | null {
    return this.state.conversations[conversationId]?.messages[0]?.seq ?? null;
  }

  // -- connection -------------------------------------------------------------------------

  /** The socket connected (first time or again): resync, then flush the outbox. */
  async connected(): Promise<void> {
    this.commit({ connection: "online" });
    await this.resync();
    this.flushOutbox();
    for (const id of Object.keys(this.state.conversations)) this.scheduleReceipt(id);
  }

  disconnected(): void {
    for (const id of Object.keys(this.state.conversations)) {
      this.update(id, (c) => (c.peerTyping ? { ...c, peerTyping: false } : c));
    }
    this.commit({ connection: this.network ? "reconnecting" : "offline" });
  }

  /** The browser's online/offline state (shown in the banner; the socket reconnects). */
  setNetwork(online: boolean): void {
    this.network = online;
    if (this.state.connection !== "online") {
      this.commit({ connection: online ? "reconnecting" : "offline" });
    }
  }

  get online(): boolean {
    return this.state.connection === "online";
  }

  /** Run `sync` until nothing is limited; concurrent requests share one run. */
  resync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const run = async (): Promise<void> => {
      this.commit({ syncing: true });
      try {
        do {
          this.syncAgain = false;
          for (let round = 0; round < SYNC_ROUNDS; round++) {
            if (!this.online || this.disposed) return;
            const cursors: Record<string, number> = {};
            for (const c of Object.values(this.state.conversations)) {
              if (!c.closed) cursors[c.id] = c.cursor;
            }
            let ack: unknown;
            try {
              ack = await this.link.call("sync", { cursors });
            } catch {
              return; // disconnected or timed out: the next connect syncs again
            }
            if (!isAck<SyncAck>(ack) || !ack.ok) {
              this.onError?.(ackError(ack, "sync_failed"));
              return;
            }
            this.applySync(ack);
            if (!ack.conversations.some((c) => c.limited)) break;
          }
        } while (this.syncAgain && this.online);
      } finally {
        this.syncing = null;
        this.commit({ syncing: false });
      }
    };
    this.syncing = run();
    return this.syncing;
  }

  private applySync(ack: SyncAck): void {
    for (const id of ack.closed) {
      this.update(id, (c) => (c.closed ? c : { ...c, closed: "closed", peerTyping: false }));
    }
    for (const sc of ack.conversations) this.applySyncConversation(sc);
  }

  private applySyncConversation(sc: SyncConversation): void {
    const known = this.state.conversations[sc.conversation_id];
    const conv = known ?? blankConversation(sc.conversation_id, this.now());
    const { messages, added } = mergeMessages(conv.messages, sc.messages);
    // The server's answer covers everything after our cursor: up to next_cursor when limited,
    // else up to last_seq (so a seq that no longer exists cannot keep a gap open forever).
    const covered = sc.limited && sc.next_cursor !== null ? sc.next_cursor : sc.last_seq;
    const next: ConversationState = {
      ...conv,
      matchId: sc.match_id ?? conv.matchId,
      peerId: sc.peer_id ?? conv.peerId,
      lastSeq: Math.max(conv.lastSeq, sc.last_seq),
      messages,
      cursor: Math.max(advanceCursor(conv.cursor, messages), covered),
      lastMessage: newest(conv.lastMessage, messages.at(-1) ?? null),
      unread: conv.unread + this.countUnread(conv, added),
      closed: null,
    };
    this.put(this.dropAcked(next, added));
    if (!known) this.onNewConversation?.(sc.conversation_id);
    this.scheduleReceipt(sc.conversation_id);
  }

  // -- live events --------------------------------------------------------------------------

  /** Route one server event. Unknown events are ignored. */
  receive(event: string, payload: unknown): void {
    if (typeof payload !== "object" || payload === null) return;
    switch (event) {
      case "message:new":
        this.onMessage(payload as Message);
        break;
      case "receipt:update":
        this.onReceipt(payload as Receipt);
        break;
      case "typing":
        this.onTyping(payload as TypingEvent);
        break;
      case "presence:update":
        this.onPresence(payload as PresenceEvent);
        break;
      case "conversation:closed":
        this.onClosed(payload as ClosedEvent);
        break;
      case "match:new":
        void this.resync();
        break;
      default:
        break;
    }
  }

  private onMessage(m: Message): void {
    const known = this.state.conversations[m.conversation_id];
    if (!known) {
      // A conversation we have not seen (a new match): sync fetches it with its metadata.
      void this.resync();
      return;
    }
    const { messages, added } = mergeMessages(known.messages, [m]);
    if (added.length === 0) return;
    const cursor = advanceCursor(known.cursor, messages);
    const fromPeer = m.sender_id !== this.me;
    const next: ConversationState = {
      ...known,
      messages,
      cursor,
      lastSeq: Math.max(known.lastSeq, m.seq),
      lastMessage: newest(known.lastMessage, m),
      unread: known.unread + this.countUnread(known, added),
      peerTyping: fromPeer ? false : known.peerTyping,
    };
    this.put(this.dropAcked(next, added));
    if (m.seq > cursor) this.gapDetected();
    if (fromPeer) this.scheduleReceipt(m.conversation_id);
  }

  private gapDetected(): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      void this.resync();
    }, 0);
  }

  private onReceipt(r: Receipt): void {
    if (r.user_id === this.me) {
      this.update(r.conversation_id, (c) => ({
        ...c,
        readSeq: Math.max(c.readSeq, r.read_seq ?? 0),
      }));
      return;
    }
    this.update(r.conversation_id, (c) => ({
      ...c,
      peerDeliveredSeq: Math.max(c.peerDeliveredSeq, r.delivered_seq, r.read_seq ?? 0),
      peerReadSeq: maxOrNull(c.peerReadSeq, r.read_seq),
    }));
  }

  private onTyping(t: TypingEvent): void {
    if (t.user_id === this.me) return;
    const old = this.typingTimers.get(t.conversation_id);
    if (old) clearTimeout(old);
    this.typingTimers.delete(t.conversation_id);
    if (t.active) {
      this.typingTimers.set(
        t.conversation_id,
        setTimeout(() => {
          this.typingTimers.delete(t.conversation_id);
          this.update(t.conversation_id, (c) => ({ ...c, peerTyping: false }));
        }, this.opts.typingTtlMs),
      );
    }
    this.update(t.conversation_id, (c) =>
      c.peerTyping === t.active ? c : { ...c, peerTyping: t.active },
    );
  }

  private onPresence(p: PresenceEvent): void {
    for (const c of Object.values(this.state.conversations)) {
      if (c.peerId !== p.user_id) continue;
      this.update(c.id, (x) => ({
        ...x,
        peerOnline: p.online,
        peerLastSeenAt: p.online ? x.peerLastSeenAt : (p.last_seen_at ?? this.now().toISOString()),
      }));
    }
  }

  private onClosed(e: ClosedEvent): void {
    this.update(e.conversation_id, (c) => ({ ...c, closed: e.reason, peerTyping: false }));
  }

  // -- reading ------------------------------------------------------------------------------

  /** The conversation on screen (null: none) and whether the page is visible. */
  setActive(conversationId: string | null, visible = this.visible): void {
    this.active = conversationId;
    this.visible = visible;
    if (conversationId) this.scheduleReceipt(conversationId);
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible && this.active) this.scheduleReceipt(this.active);
  }

  private isViewing(id: string): boolean {
    return this.active === id && this.visible;
  }

  private countUnread(conv: ConversationState, added: readonly Message[]): number {
    if (this.isViewing(conv.id)) return 0;
    return added.filter((m) => m.sender_id !== this.me && m.seq > conv.readSeq).length;
  }

  private scheduleReceipt(id: string): void {
    if (this.receiptTimers.has(id)) return;
    this.receiptTimers.set(
      id,
      setTimeout(() => {
        this.receiptTimers.delete(id);
        void this.sendReceipt(id);
      }, this.opts.receiptDelayMs),
    );
  }

  private async sendReceipt(id: string): Promise<void> {
    const conv = this.state.conversations[id];
    if (!conv || conv.closed || !this.online) return;
    const peerSeqs = conv.messages.filter((m) => m.sender_id !== this.me).map((m) => m.seq);
    const top = Math.max(conv.lastSeq, ...peerSeqs);
    if (top <= 0) return;
    const reading = this.isViewing(id);
    const kind = reading ? "read" : "delivered";
    const sent = reading ? this.sentRead : this.sentDelivered;
    const already = Math.max(sent.get(id) ?? 0, reading ? conv.readSeq : 0);
    // News from the peer: a held message above the cursor, or unread ones we only know by count
    // (a conversation seeded from REST whose history is not loaded yet).
    const hasPeerNews = peerSeqs.some((s) => s > already) || (conv.unread > 0 && top > already);
    if (!hasPeerNews) return;
    sent.set(id, top);
    if (reading) this.sentDelivered.set(id, Math.max(this.sentDelivered.get(id) ?? 0, top));
    let ack: unknown;
    try {
      ack = await this.link.call(`receipt:${kind}`, { conversation_id: id, up_to_seq: top });
    } catch {
      sent.delete(id); // retried on the next connect
      return;
    }
    if (isAck<{ receipt: Receipt }>(ack) && ack.ok && reading) {
      this.update(id, (c) => ({
        ...c,
        unread: 0,
        readSeq: Math.max(c.readSeq, ack.receipt.read_seq ?? top),
      }));
    }
  }

  // -- typing -------------------------------------------------------------------------------

  /** Call on every edit of the draft; announces typing and its end, throttled. */
  typing(conversationId: string, hasText: boolean): void {
    const mine = this.myTyping.get(conversationId);
    const now = Date.now();
    if (!hasText) {
      if (mine) this.stopTyping(conversationId);
      return;
    }
    if (mine?.idle) clearTimeout(mine.idle);
    const idle = setTimeout(() => this.stopTyping(conversationId), this.opts.typingIdleMs);
    if (!mine || now - mine.sentAt >= this.opts.typingRefreshMs) {
      this.myTyping.set(conversationId, { sentAt: now, idle });
      if (this.online) {
        this.link.call("typing", { conversation_id: conversationId, active: true }).catch(noop);
      }
    } else {
      this.myTyping.set(conversationId, { ...mine, idle });
    }
  }

  stopTyping(conversationId: string): void {
    const mine = this.myTyping.get(conversationId);
    if (!mine) return;
    if (mine.idle) clearTimeout(mine.idle);
    this.myTyping.delete(conversationId);
    if (this.online) {
      this.link.call("typing", { conversation_id: conversationId, active: false }).catch(noop);
    }
  }

  // -- sending ------------------------------------------------------------------------------

  /** Show the message at once and send it; returns its client_msg_id. */
  send(conversationId: string, body: string, options: { aiSuggestion?: boolean } = {}): string {
    const clientMsgId = this.newId();
    const pending: PendingMessage = {
      clientMsgId,
      conversationId,
      body,
      aiSuggestion: options.aiSuggestion ?? false,
      confirm: false,
      createdAt: this.now().toISOString(),
      status: "sending",
      error: null,
      reasons: [],
      attempts: 0,
    };
    const mine = this.myTyping.get(conversationId);
    if (mine?.idle) clearTimeout(mine.idle);
    this.myTyping.delete(conversationId); // the server ends typing when a message is sent
    this.update(conversationId, (c) => ({ ...c, pending: [...c.pending, pending] }));
    void this.attempt(clientMsgId);
    return clientMsgId;
  }

  /** Try a failed send again, under the same client_msg_id. */
  retry(clientMsgId: string): void {
    this.patchPending(clientMsgId, { status: "sending", error: null, attempts: 0 });
    void this.attempt(clientMsgId);
  }

  /** "Send anyway" after a confirm_required answer: the same payload with confirm: true. */
  confirm(clientMsgId: string): void {
    this.patchPending(clientMsgId, { status: "sending", error: null, confirm: true, attempts: 0 });
    void this.attempt(clientMsgId);
  }

  /** Give up on a pending message (not sent, or the user chose not to send it). */
  discard(clientMsgId: string): PendingMessage | null {
    const p = this.findPending(clientMsgId);
    if (!p) return null;
    this.clearRetry(clientMsgId);
    this.update(p.conversationId, (c) => ({
      ...c,
      pending: c.pending.filter((x) => x.clientMsgId !== clientMsgId),
    }));
    return p;
  }

  /** Every unacknowledged message (to keep across a reload). */
  pendingMessages(): PendingMessage[] {
    return Object.values(this.state.conversations).flatMap((c) => [...c.pending]);
  }

  /** Put back messages kept across a reload; they are sent on the next connect. */
  restorePending(list: readonly PendingMessage[]): void {
    for (const p of list) {
      const conv = this.state.conversations[p.conversationId];
      if (!conv || conv.pending.some((x) => x.clientMsgId === p.clientMsgId)) continue;
      const restored: PendingMessage = {
        ...p,
        status: p.status === "confirm" ? "confirm" : "sending",
        attempts: 0,
      };
      this.put({ ...conv, pending: [...conv.pending, restored] });
    }
    if (this.online) this.flushOutbox();
  }

  findPending(clientMsgId: string): PendingMessage | undefined {
    for (const c of Object.values(this.state.conversations)) {
      const p = c.pending.find((x) => x.clientMsgId === clientMsgId);
      if (p) return p;
    }
    return undefined;
  }

  private patchPending(clientMsgId: string, patch: Partial<PendingMessage>): void {
    const p = this.findPending(clientMsgId);
    if (!p) return;
    this.update(p.conversationId, (c) => ({
      ...c,
      pending: c.pending.map((x) => (x.clientMsgId === clientMsgId ? { ...x, ...patch } : x)),
    }));
  }

  private flushOutbox(): void {
    for (const p of this.pendingMessages()) {
      if (p.status === "sending" && !this.inflight.has(p.clientMsgId)) {
        void this.attempt(p.clientMsgId);
      }
    }
  }

  private clearRetry(clientMsgId: string): void {
    const t = this.retryTimers.get(clientMsgId);
    if (t) clearTimeout(t);
    this.retryTimers.delete(clientMsgId);
  }

  private retryLater(clientMsgId: string, ms: number): void {
    this.clearRetry(clientMsgId);
    this.retryTimers.set(
      clientMsgId,
      setTimeout(() => {
        this.retryTimers.delete(clientMsgId);
        void this.attempt(clientMsgId);
      }, ms),
    );
  }

  private async attempt(clientMsgId: string): Promise<void> {
    const p = this.findPending(clientMsgId);
    if (!p || p.status !== "sending" || this.inflight.has(clientMsgId) || this.disposed) return;
    if (!this.online) return; // stays "sending"; flushed on the next connect
    this.clearRetry(clientMsgId);
    this.inflight.add(clientMsgId);
    const attempts = p.attempts + 1;
    this.patchPending(clientMsgId, { attempts });
    const payload: SendPayload = {
      conversation_id: p.conversationId,
      client_msg_id: p.clientMsgId,
      kind: "text",
      body: p.body,
    };
    if (p.aiSuggestion) payload.ai_suggestion = true;
    if (p.confirm) payload.confirm = true;
    let ack: unknown;
    try {
      ack = await this.link.call("message:send", payload);
    } catch {
      this.inflight.delete(clientMsgId);
      if (!this.online) return; // flushed on reconnect under the same id
      if (attempts < this.opts.maxAutoAttempts) {
        this.retryLater(clientMsgId, 1000 * attempts);
      } else {
        const error = { code: "timeout", message: "No answer from the server." };
        this.patchPending(clientMsgId, { status: "failed", error });
      }
      return;
    }
    this.inflight.delete(clientMsgId);
    if (isAck<{ message: Message }>(ack) && ack.ok) {
      this.acknowledged(ack.message);
      return;
    }
    const error = ackError(ack, "send_failed");
    switch (error.code) {
      case "confirm_required":
        this.patchPending(clientMsgId, { status: "confirm", error, reasons: error.reasons ?? [] });
        return;
      case "rate_limited":
        this.retryLater(clientMsgId, Math.max(1, error.retry_after_s ?? 1) * 1000);
        return;
      case "unavailable":
        if (attempts < this.opts.maxAutoAttempts) {
          this.retryLater(clientMsgId, 1000 * attempts);
          return;
        }
        break;
      default:
        break;
    }
    this.patchPending(clientMsgId, { status: "failed", error });
  }

  private acknowledged(message: Message): void {
    const conv = this.state.conversations[message.conversation_id];
    if (!conv) return;
    const { messages, added } = mergeMessages(conv.messages, [message]);
    const cursor = advanceCursor(conv.cursor, messages);
    const next: ConversationState = {
      ...conv,
      messages,
      cursor,
      lastSeq: Math.max(conv.lastSeq, message.seq),
      lastMessage: newest(conv.lastMessage, message),
    };
    this.put(this.dropAcked(next, [...added, message]));
    if (message.seq > cursor) this.gapDetected();
  }

  /** Remove pending entries that a stored message of mine now answers (same client_msg_id). */
  private dropAcked(conv: ConversationState, added: readonly Message[]): ConversationState {
    if (conv.pending.length === 0) return conv;
    const acked = new Set(
      added.filter((m) => m.sender_id === this.me && m.client_msg_id).map((m) => m.client_msg_id),
    );
    if (acked.size === 0) return conv;
    for (const id of acked) if (id) this.clearRetry(id);
    return { ...conv, pending: conv.pending.filter((p) => !acked.has(p.clientMsgId)) };
  }
}

function newest(a: Message | null, b: Message | null): Message | null {
  if (!a) return b;
  if (!b) return a;
  return b.seq >= a.seq ? b : a;
}

function maxOrNull(a: number | null, b: number | null | undefined): number | null {
  if (b === null || b === undefined) return a;
  if (a === null) return b;
  return Math.max(a, b);
}

function noop(): void {}
