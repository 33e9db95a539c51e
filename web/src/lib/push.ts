// Web Push: the service worker (public/sw.js), the server's VAPID key, and the subscription the
// server stores. Everything degrades quietly: no key (404) or no browser support hides the option.
import { api, call, type Schemas } from "../api/client";

export type PushState = "unsupported" | "unavailable" | "denied" | "off" | "on";

export function pushSupported(): boolean {
  return (
    typeof window !== "undefined" &&
    window.isSecureContext &&
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window
  );
}

/** URL-safe base64 (the VAPID public key) to the bytes PushManager wants. */
export function base64UrlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const padded = value.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (value.length % 4)) % 4);
  const raw = atob(padded);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

let keyCache: Promise<string | null> | null = null;

/** The server's application server key, or null when push is not configured (404). */
export function vapidKey(): Promise<string | null> {
  keyCache ??= call(() => api.GET("/api/v1/push/vapid-key")).then(
    (r) => r.public_key || null,
    () => null,
  );
  return keyCache;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  const existing = await navigator.serviceWorker.getRegistration("/");
  return existing ?? navigator.serviceWorker.register("/sw.js", { scope: "/" });
}

export async function pushState(): Promise<PushState> {
  if (!pushSupported()) return "unsupported";
  if (!(await vapidKey())) return "unavailable";
  if (Notification.permission === "denied") return "denied";
  const reg = await navigator.serviceWorker.getRegistration("/");
  const sub = await reg?.pushManager.getSubscription();
  return sub ? "on" : "off";
}

export async function enablePush(): Promise<PushState> {
  const key = await vapidKey();
  if (!pushSupported() || !key) return "unavailable";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return permission === "denied" ? "denied" : "off";
  const reg = await registration();
  await navigator.serviceWorker.ready;
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) }));
  const json = sub.toJSON();
  const body: Schemas["PushSubscriptionIn"] = {
    endpoint: json.endpoint ?? sub.endpoint,
    expirationTime: json.expirationTime ?? null,
    keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
  };
  await call(() => api.POST("/api/v1/push/subscriptions", { body }));
  return "on";
}

export async function disablePush(): Promise<PushState> {
  const reg = await navigator.serviceWorker.getRegistration("/");
  const sub = await reg?.pushManager.getSubscription();
  if (sub) {
    await call(() => api.DELETE("/api/v1/push/subscriptions", { body: { endpoint: sub.endpoint } })).catch(
      () => undefined,
    );
    await sub.unsubscribe();
  }
  return "off";
}
