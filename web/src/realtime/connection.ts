// Binds the npm socket.io-client to the chat engine: auth with a fresh token on every
// (re)connect, token refresh on refusal, prompt offline detection, and event routing.
import { io, type Socket } from "socket.io-client";

import { session } from "../api/session";
import type { ChatEngine, Link } from "../chat/engine";

const ENGINE_EVENTS = [
  "message:new",
  "receipt:update",
  "typing",
  "presence:update",
  "conversation:closed",
  "match:new",
] as const;

const APP_EVENTS = [
  "match:new",
  "ai:icebreaker",
  "ai:suggestions",
  "ai:coach",
  "ai:result",
  "safety:warning",
  "notification:new",
  "message:new",
] as const;

export type AppEvent = (typeof APP_EVENTS)[number];

const ACK_TIMEOUT_MS = 10_000;
const REFRESH_CODES = new Set(["token_expired", "token_invalid"]);
const FATAL_CODES = new Set(["session_revoked", "account_inactive", "auth_required"]);

export interface Realtime extends Link {
  close(): void;
}

interface Options {
  engine: ChatEngine;
  onEvent: (event: AppEvent, payload: unknown) => void;
  onSessionLost: () => void;
}

export function startRealtime({ engine, onEvent, onSessionLost }: Options): Realtime {
  const socket: Socket = io({
    path: "/socket.io",
    transports: ["websocket"],
    autoConnect: false,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    timeout: ACK_TIMEOUT_MS,
    auth: (cb) => {
      session.accessToken().then(
        (token) => cb({ token: token ?? "" }),
        () => cb({ token: "" }),
      );
    },
  });
  let closed = false;
  let authFailures = 0;

  const reconnectSoon = (): void => {
    if (closed) return;
    setTimeout(() => {
      if (!closed && !socket.connected) socket.connect();
    }, 300);
  };

  socket.on("connect", () => {
    authFailures = 0;
    void engine.connected();
  });
  socket.on("disconnect", (reason) => {
    engine.disconnected();
    // The server ended this socket (e.g. the session check after a token refresh): try again
    // with a fresh token; a session that really ended is refused with a code below.
    if (reason === "io server disconnect") reconnectSoon();
  });
  socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
    const code = err.data?.code;
    if (!code) return; // network trouble: socket.io keeps retrying by itself
    authFailures += 1;
    if (FATAL_CODES.has(code) && code !== "auth_required") {
      onSessionLost();
      return;
    }
    if (authFailures > 3) {
      onSessionLost();
      return;
    }
    if (REFRESH_CODES.has(code) || code === "auth_required") {
      void session.refresh().then((t) => {
        if (t) reconnectSoon();
        else if (!session.current) onSessionLost();
      });
    }
  });
  for (const name of ENGINE_EVENTS) socket.on(name, (payload: unknown) => engine.receive(name, payload));
  for (const name of APP_EVENTS) socket.on(name, (payload: unknown) => onEvent(name, payload));

  const onOffline = (): void => {
    engine.setNetwork(false);
    // Do not wait for the heartbeat to notice: drop the transport now, socket.io reconnects.
    socket.io.engine?.close();
  };
  const onOnline = (): void => {
    engine.setNetwork(true);
    if (!socket.connected) {
      socket.disconnect();
      socket.connect();
    }
  };
  const onVisibility = (): void => engine.setVisible(document.visibilityState === "visible");
  window.addEventListener("offline", onOffline);
  window.addEventListener("online", onOnline);
  document.addEventListener("visibilitychange", onVisibility);
  engine.setNetwork(navigator.onLine);
  onVisibility();
  socket.connect();

  return {
    call(event: string, payload: unknown): Promise<unknown> {
      if (!socket.connected) return Promise.reject(new Error("disconnected"));
      return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    },
    close(): void {
      closed = true;
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
      document.removeEventListener("visibilitychange", onVisibility);
      socket.removeAllListeners();
      socket.disconnect();
    },
  };
}
