// A small history-API router: the server answers every client path with index.html.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function emit(): void {
  for (const l of [...listeners]) l();
}

if (typeof window !== "undefined") window.addEventListener("popstate", emit);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  emit();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const path = (): string => window.location.pathname;

export function usePath(): string {
  return useSyncExternalStore(subscribe, path, path);
}

/** Match "/chats/:id"-style patterns; returns the params or null. */
export function match(pattern: string, pathname: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = pathname.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] ?? "";
    const val = s[i] ?? "";
    if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(val);
    else if (seg !== val) return null;
  }
  return params;
}
