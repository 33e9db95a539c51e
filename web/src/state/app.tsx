// The signed-in app's shared state: profile, preferences, the chat engine and its socket, peers
// (from matches), AI hints, safety warnings and notifications.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";

import { api, call, type Schemas } from "../api/client";
import { session } from "../api/session";
import { ChatEngine, type PendingMessage } from "../chat/engine";
import type { CoachEvent, Icebreaker, IcebreakerEvent, Message, SafetyWarning, Suggestions } from "../chat/types";
import { startRealtime, type AppEvent, type Realtime } from "../realtime/connection";
import { createStore, type Store } from "../lib/store";

export type MyProfile = Schemas["MyProfile"];
export type Preferences = Schemas["Preferences"];
export type MatchOut = Schemas["MatchOut"];
export type PublicProfile = Schemas["PublicProfile"];

export type NotificationItem = Schemas["NotificationOut"];

export interface NotificationsState {
  /** null until known; false when the server has no notifications API. */
  available: boolean | null;
  items: NotificationItem[];
  unread: number;
}

export interface AiState {
  icebreakers: Record<string, Icebreaker | null>;
  suggestions: Record<string, Suggestions>;
  coach: Record<string, CoachEvent>;
  warnings: SafetyWarning[];
}

export interface AppState {
  me: Store<MyProfile>;
  prefs: Store<Preferences | null>;
  engine: ChatEngine;
  realtime: { call(event: string, payload: unknown): Promise<unknown> };
  /** Active matches by conversation id. */
  matches: Store<Record<string, MatchOut>>;
  matchesLoaded: Store<boolean>;
  refreshMatches(): Promise<void>;
  /** Re-read conversation summaries (presence, receipts, unread) from REST. */
  refreshConversations(): Promise<void>;
  ai: Store<AiState>;
  notifications: Store<NotificationsState>;
  /** "It's a match!" for this conversation (null: nothing to celebrate). */
  celebrate: Store<string | null>;
  /** The latest live message from a peer (for in-app toasts). */
  incoming: Store<Message | null>;
  signOut(): Promise<void>;
}

const Ctx = createContext<AppState | null>(null);

export function useApp(): AppState {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useApp outside AppProvider");
  return ctx;
}

const outboxKey = (userId: string) => `rapport.outbox.${userId}`;

function loadOutbox(userId: string): PendingMessage[] {
  try {
    const raw = localStorage.getItem(outboxKey(userId));
    const list: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(list) ? (list as PendingMessage[]) : [];
  } catch {
    return [];
  }
}

function saveOutbox(userId: string, list: PendingMessage[]): void {
  try {
    if (list.length) localStorage.setItem(outboxKey(userId), JSON.stringify(list));
    else localStorage.removeItem(outboxKey(userId));
  } catch {
    // not kept across a reload
  }
}

function build(initial: MyProfile): { state: AppState; start: () => () => void } {
  let rt: Realtime | null = null;
  const matches = createStore<Record<string, MatchOut>>({});
  const matchesLoaded = createStore(false);
  const celebrate = createStore<string | null>(null);
  const engine = new ChatEngine({
    me: initial.id,
    link: {
      call: (event, payload) => (rt ? rt.call(event, payload) : Promise.reject(new Error("not connected"))),
    },
    onNewConversation: () => {
      void state.refreshMatches().catch(() => undefined);
      void state.refreshConversations().catch(() => undefined);
    },
  });
  const state: AppState = {
    me: createStore(initial),
    prefs: createStore<Preferences | null>(null),
    engine,
    realtime: {
      call: (event, payload) => (rt ? rt.call(event, payload) : Promise.reject(new Error("not connected"))),
    },
    matches,
    matchesLoaded,
    async refreshMatches() {
      const list = await call(() => api.GET("/api/v1/matches"));
      const byConv: Record<string, MatchOut> = {};
      for (const m of list) if (m.conversation_id) byConv[m.conversation_id] = m;
      matches.set(byConv);
      matchesLoaded.set(true);
    },
    async refreshConversations() {
      engine.seed(await call(() => api.GET("/api/v1/conversations")));
    },
    ai: createStore<AiState>({ icebreakers: {}, suggestions: {}, coach: {}, warnings: [] }),
    notifications: createStore<NotificationsState>({ available: null, items: [], unread: 0 }),
    celebrate,
    incoming: createStore<Message | null>(null),
    async signOut() {
      try {
        await call(() => api.POST("/api/v1/auth/logout", { params: { query: { everywhere: false } } }));
      } catch {
        // signed out locally either way
      }
      rt?.close();
      session.signOut();
    },
  };
  const start = () => {
    rt = startRealtime({
      engine,
      onEvent: (event, payload) => onAppEvent(state, event, payload),
      onSessionLost: () => session.signOut("expired"),
    });
    return () => {
      rt?.close();
      rt = null;
    };
  };
  return { state, start };
}

function onAppEvent(state: AppState, event: AppEvent, payload: unknown): void {
  if (typeof payload !== "object" || payload === null) return;
  switch (event) {
    case "match:new":
      void state.refreshMatches();
      break;
    case "ai:icebreaker": {
      const p = payload as IcebreakerEvent;
      state.ai.set((s) => ({ ...s, icebreakers: { ...s.icebreakers, [p.conversation_id]: p.icebreaker } }));
      break;
    }
    case "ai:suggestions": {
      const p = payload as Suggestions;
      state.ai.set((s) => ({ ...s, suggestions: { ...s.suggestions, [p.conversation_id]: p } }));
      break;
    }
    case "ai:coach": {
      const p = payload as CoachEvent;
      state.ai.set((s) => ({ ...s, coach: { ...s.coach, [p.conversation_id]: p } }));
      break;
    }
    case "safety:warning": {
      const p = payload as SafetyWarning;
      state.ai.set((s) =>
        s.warnings.some((w) => w.message_id === p.message_id) ? s : { ...s, warnings: [...s.warnings, p] },
      );
      break;
    }
    case "notification:new": {
      // A collapsed entry comes again with the same id and a newer created_at: replace it.
      const n = payload as NotificationItem;
      state.notifications.set((st) => {
        const old = st.items.find((x) => x.id === n.id);
        const delta = (n.read_at ? 0 : 1) - (old && !old.read_at ? 1 : 0);
        return {
          available: true,
          items: [n, ...st.items.filter((x) => x.id !== n.id)],
          unread: Math.max(0, st.unread + delta),
        };
      });
      break;
    }
    case "ai:result": {
      // An automation attached a result; icebreakers and suggestions show like our own.
      const p = payload as { conversation_id: string; kind: string; result: unknown };
      if (p.kind === "icebreaker" && isIcebreaker(p.result)) {
        const ice = p.result;
        state.ai.set((s) => ({ ...s, icebreakers: { ...s.icebreakers, [p.conversation_id]: ice } }));
      } else if (p.kind === "suggestions" && isSuggestions(p.result)) {
        const r = p.result;
        const sug: Suggestions = {
          conversation_id: p.conversation_id,
          replies: r.replies,
          topics: Array.isArray(r.topics) ? r.topics : [],
          language: typeof r.language === "string" ? r.language : "en",
        };
        state.ai.set((s) => ({ ...s, suggestions: { ...s.suggestions, [p.conversation_id]: sug } }));
      }
      break;
    }
    case "message:new": {
      const m = payload as Message;
      if (m.sender_id !== state.engine.me) state.incoming.set(m);
      break;
    }
    default:
      break;
  }
}

function isIcebreaker(v: unknown): v is Icebreaker {
  return typeof v === "object" && v !== null && Array.isArray((v as Icebreaker).opening_lines);
}

function isSuggestions(v: unknown): v is Partial<Suggestions> & Pick<Suggestions, "replies"> {
  return typeof v === "object" && v !== null && Array.isArray((v as Suggestions).replies);
}

export async function loadNotifications(state: AppState): Promise<void> {
  try {
    const page = await call(() => api.GET("/api/v1/notifications", { params: { query: { limit: 50 } } }));
    state.notifications.set({ available: true, items: page.items, unread: page.unread_count });
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404 || status === 405) state.notifications.set({ available: false, items: [], unread: 0 });
  }
}

export function AppProvider({ me, children }: { me: MyProfile; children: ReactNode }) {
  const [{ state, start }] = useState(() => build(me));
  useEffect(() => {
    let alive = true;
    let lastPending = "";
    let wasOnline = false;
    let connectedOnce = false;
    const stopSaving = state.engine.subscribe(() => {
      const snap = state.engine.getSnapshot();
      const pending = state.engine.pendingMessages();
      const key = pending.map((p) => `${p.clientMsgId}:${p.status}`).join();
      if (key !== lastPending) {
        lastPending = key;
        saveOutbox(me.id, pending);
      }
      const online = snap.connection === "online";
      if (online && !wasOnline) {
        // Presence and receipts may have changed while we were away.
        if (connectedOnce) void state.refreshConversations().catch(() => undefined);
        connectedOnce = true;
      }
      wasOnline = online;
    });
    let stop: (() => void) | undefined;
    const boot = async () => {
      try {
        const convs = await call(() => api.GET("/api/v1/conversations"));
        if (!alive) return;
        state.engine.seed(convs);
        state.engine.restorePending(loadOutbox(me.id));
      } catch {
        // the socket's sync fills in what the list could not
      }
      if (!alive) return;
      stop = start();
    };
    void boot();
    void state.refreshMatches().catch(() => state.matchesLoaded.set(true));
    void call(() => api.GET("/api/v1/me/settings"))
      .then((p) => state.prefs.set(p))
      .catch(() => undefined);
    void loadNotifications(state);
    return () => {
      alive = false;
      stopSaving();
      stop?.();
    };
  }, [state, start, me.id]);
  return <Ctx.Provider value={state}>{children}</Ctx.Provider>;
}
