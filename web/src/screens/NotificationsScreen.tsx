import { useEffect } from "react";

import { api, call } from "../api/client";
import { useI18n } from "../i18n";
import { errorText } from "../lib/errorText";
import { relativeTime } from "../lib/format";
import { useStore } from "../lib/store";
import { navigate } from "../router";
import { loadNotifications, useApp, type NotificationItem } from "../state/app";
import { Icon, type IconName } from "../ui/Icon";
import { EmptyState, Spinner } from "../ui/primitives";
import { toast } from "../ui/toasts";

const KIND_ICON: Record<NotificationItem["kind"], IconName> = {
  message: "chat",
  match: "heart",
  reminder: "clock",
  system: "info",
};

/** Where a notification leads: its `url`, else its conversation. */
export function notificationTarget(n: NotificationItem): string | null {
  const data = n.data ?? {};
  if (typeof data.url === "string" && data.url.startsWith("/")) return data.url;
  if (typeof data.conversation_id === "string") return `/chats/${data.conversation_id}`;
  return null;
}

export function NotificationsScreen() {
  const { t, lang } = useI18n();
  const app = useApp();
  const state = useStore(app.notifications);

  useEffect(() => {
    void loadNotifications(app);
  }, [app]);

  async function markRead(body: { ids: string[] } | { all: true }) {
    const now = new Date().toISOString();
    const ids = "ids" in body ? new Set(body.ids) : null;
    app.notifications.set((s) => ({
      ...s,
      items: s.items.map((n) => (!n.read_at && (!ids || ids.has(n.id)) ? { ...n, read_at: now } : n)),
    }));
    try {
      const payload = "ids" in body ? { ids: body.ids, all: false } : { all: true };
      const res = await call(() => api.POST("/api/v1/notifications/read", { body: payload }));
      app.notifications.set((s) => ({ ...s, unread: res.unread_count }));
    } catch (err) {
      toast(errorText(t, err), "error");
    }
  }

  const now = new Date();
  return (
    <div className="screen notifications">
      <header className="screen-header">
        <h1>{t("nav.notifications")}</h1>
        {state.unread > 0 && (
          <button type="button" className="button small ghost" onClick={() => void markRead({ all: true })}>
            {t("notifications.mark_all")}
          </button>
        )}
      </header>
      {state.available === null && <Spinner label={t("common.loading")} />}
      {state.available === false && (
        <EmptyState icon="bell" title={t("notifications.unavailable_title")} body={t("notifications.unavailable_body")} />
      )}
      {state.available && state.items.length === 0 && (
        <EmptyState icon="bell" title={t("notifications.empty_title")} body={t("notifications.empty_body")} />
      )}
      {state.available && state.items.length > 0 && (
        <ul className="notification-list">
          {state.items.map((n) => {
            const target = notificationTarget(n);
            return (
              <li key={n.id}>
                <button
                  type="button"
                  className={n.read_at ? "notification" : "notification unread"}
                  onClick={() => {
                    if (!n.read_at) void markRead({ ids: [n.id] });
                    if (target) navigate(target);
                  }}
                >
                  <span className={`notification-icon kind-${n.kind}`}>
                    <Icon name={KIND_ICON[n.kind] ?? "info"} size={18} />
                  </span>
                  <span className="notification-text">
                    <strong>{n.title}</strong>
                    {n.body && <span>{n.body}</span>}
                    <time dateTime={n.created_at}>{relativeTime(new Date(n.created_at), now, lang)}</time>
                  </span>
                  {!n.read_at && <span className="unread-dot" aria-label={t("notifications.unread")} />}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
