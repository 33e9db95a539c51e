// The signed-in session: tokens in localStorage, an access token refreshed before it expires,
// and one refresh at a time across every tab (a refresh token used twice ends the session).
import type { components } from "./schema";

type TokenPair = components["schemas"]["TokenPair"];

export interface Tokens {
  userId: string;
  access: string;
  refresh: string;
  /** Local clock time (ms) at which the access token should be treated as expired. */
  accessExpiresAt: number;
}

const KEY = "rapport.session";
const EARLY_MS = 30_000;

function readStored(): Tokens | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const t = JSON.parse(raw) as Partial<Tokens>;
    if (typeof t.userId === "string" && typeof t.access === "string" && typeof t.refresh === "string") {
      return { userId: t.userId, access: t.access, refresh: t.refresh, accessExpiresAt: Number(t.accessExpiresAt) || 0 };
    }
  } catch {
    // unreadable storage: signed out
  }
  return null;
}

/** Lifetime of a JWT from its own claims (exp - iat), so the client clock's offset is moot. */
export function tokenLifetimeMs(jwt: string): number {
  try {
    const part = jwt.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { exp?: number; iat?: number };
    if (typeof claims.exp === "number" && typeof claims.iat === "number") {
      return Math.max(0, (claims.exp - claims.iat) * 1000);
    }
  } catch {
    // fall through
  }
  return 60_000;
}

export type SessionEnd = "signed_out" | "expired";

class Session {
  private tokens: Tokens | null = readStored();
  private refreshing: Promise<Tokens | null> | null = null;
  private readonly listeners = new Set<() => void>();
  private ended: SessionEnd | null = null;

  constructor() {
    if (typeof window !== "undefined") {
      window.addEventListener("storage", (e) => {
        if (e.key !== KEY) return;
        const next = readStored();
        const changedUser = (next?.userId ?? null) !== (this.tokens?.userId ?? null);
        this.tokens = next;
        if (changedUser) this.emit();
      });
    }
  }

  get current(): Tokens | null {
    return this.tokens;
  }

  get userId(): string | null {
    return this.tokens?.userId ?? null;
  }

  /** Why the last session ended (shown on the login screen), cleared when read. */
  takeEndReason(): SessionEnd | null {
    const r = this.ended;
    this.ended = null;
    return r;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): string | null => this.tokens?.userId ?? null;

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }

  private store(tokens: Tokens | null): void {
    this.tokens = tokens;
    try {
      if (tokens) localStorage.setItem(KEY, JSON.stringify(tokens));
      else localStorage.removeItem(KEY);
    } catch {
      // private mode: the session lives in memory only
    }
  }

  signIn(pair: TokenPair): void {
    const changed = pair.user_id !== this.tokens?.userId;
    this.store({
      userId: pair.user_id,
      access: pair.access_token,
      refresh: pair.refresh_token,
      accessExpiresAt: Date.now() + tokenLifetimeMs(pair.access_token),
    });
    this.ended = null;
    if (changed) this.emit();
  }

  signOut(reason: SessionEnd = "signed_out"): void {
    if (!this.tokens) return;
    this.store(null);
    this.ended = reason;
    this.emit();
  }

  /** A usable access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | null> {
    const t = this.tokens;
    if (!t) return null;
    if (Date.now() < t.accessExpiresAt - EARLY_MS) return t.access;
    const fresh = await this.refresh();
    return fresh?.access ?? null;
  }

  /** Rotate the refresh token once, whoever asks; null (and signed out) when it is refused. */
  refresh(): Promise<Tokens | null> {
    if (!this.refreshing) {
      this.refreshing = this.lockedRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async lockedRefresh(): Promise<Tokens | null> {
    const held = this.tokens;
    if (!held) return null;
    const run = async (): Promise<Tokens | null> => {
      // Another tab may have rotated the token while we waited for the lock: use theirs.
      const stored = readStored();
      if (stored && stored.refresh !== held.refresh && stored.userId === held.userId) {
        this.tokens = stored;
        return stored;
      }
      let res: Response;
      try {
        res = await fetch("/api/v1/auth/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: held.refresh }),
        });
      } catch {
        return null; // offline: keep the session, try again later
      }
      if (res.status === 401 || res.status === 403) {
        this.signOut("expired");
        return null;
      }
      if (!res.ok) return null;
      this.signIn((await res.json()) as TokenPair);
      return this.tokens;
    };
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (locks) return locks.request("rapport-refresh", run);
    return run();
  }
}

export const session = new Session();
