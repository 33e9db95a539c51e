import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from "react";

import { api, call } from "./api/client";
import { session } from "./api/session";
import { I18nProvider, useI18n, type MessageKey } from "./i18n";
import { errorText } from "./lib/errorText";
import { useStore } from "./lib/store";
import { match, navigate, usePath } from "./router";
import { AuthScreen } from "./screens/AuthScreen";
import { ChatsScreen } from "./screens/ChatsScreen";
import { DiscoverScreen } from "./screens/DiscoverScreen";
import { LanguageSwitch } from "./screens/LanguageSwitch";
import { NotificationsScreen, notificationTarget } from "./screens/NotificationsScreen";
import { ProfileEditor } from "./screens/ProfileEditor";
import { SettingsScreen } from "./screens/SettingsScreen";
import { AppProvider, useApp, type MyProfile } from "./state/app";
import { Icon, type IconName } from "./ui/Icon";
import { Avatar, Dialog, EmptyState, Spinner } from "./ui/primitives";
import { Toasts, toast } from "./ui/toasts";

export function App() {
  return (
    <I18nProvider>
      <Root />
    </I18nProvider>
  );
}

function Root() {
  const { t } = useI18n();
  const userId = useSyncExternalStore(session.subscribe, session.getSnapshot);
  const path = usePath();
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (userId) return;
    const reason = session.takeEndReason();
    if (reason === "expired") setNotice(t("auth.session_ended"));
    if (path !== "/login" && path !== "/signup") navigate("/login", { replace: true });
  }, [userId, path, t]);

  return (
    <>
      {userId ? (
        <SignedIn key={userId} />
      ) : (
        <AuthScreen mode={path === "/signup" ? "signup" : "login"} notice={notice} />
      )}
      <Toasts closeLabel={t("common.close")} />
    </>
  );
}

function SignedIn() {
  const { t } = useI18n();
  const [me, setMe] = useState<MyProfile | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let alive = true;
    setError(null);
    call(() => api.GET("/api/v1/me")).then(
      (p) => alive && setMe(p),
      (err: unknown) => alive && setError(errorText(t, err)),
    );
    return () => {
      alive = false;
    };
  }, [attempt, t]);

  if (!me) {
    return (
      <div className="splash">
        <div className="brand-mark" aria-hidden="true">
          <Icon name="heart" size={30} filled />
        </div>
        {error ? (
          <>
            <p className="form-error">{error}</p>
            <div className="row-gap">
              <button type="button" className="button primary" onClick={() => setAttempt((n) => n + 1)}>
                {t("common.try_again")}
              </button>
              <button type="button" className="button" onClick={() => session.signOut()}>
                {t("settings.logout")}
              </button>
            </div>
          </>
        ) : (
          <Spinner label={t("common.loading")} />
        )}
      </div>
    );
  }
  if (!me.complete) {
    return (
      <div className="onboarding">
        <header className="onboarding-header">
          <div className="brand-row">
            <span className="brand-mark small" aria-hidden="true">
              <Icon name="heart" size={18} filled />
            </span>
            <span className="brand-name small">Rapport</span>
          </div>
          <LanguageSwitch compact />
        </header>
        <div className="onboarding-intro">
          <h1>{t("onboarding.title")}</h1>
          <p>{t("onboarding.body")}</p>
        </div>
        <ProfileEditor
          me={me}
          onboarding
          onSaved={(p) => {
            setMe(p);
            if (p.complete) navigate("/discover", { replace: true });
          }}
        />
        <button type="button" className="link-button muted center-block" onClick={() => session.signOut()}>
          {t("settings.logout")}
        </button>
      </div>
    );
  }
  return (
    <AppProvider me={me}>
      <Shell />
    </AppProvider>
  );
}

interface NavItem {
  to: string;
  icon: IconName;
  label: MessageKey;
  badge?: number;
  testId: string;
}

function Shell() {
  const { t } = useI18n();
  const app = useApp();
  const path = usePath();
  const snap = useSyncExternalStore(app.engine.subscribe, app.engine.getSnapshot);
  const notifications = useStore(app.notifications);
  const matches = useStore(app.matches);

  useEffect(() => {
    if (path === "/" || path === "/login" || path === "/signup") navigate("/discover", { replace: true });
  }, [path]);

  const chat = match("/chats/:id", path);
  const unread = Object.values(snap.conversations)
    .filter((c) => !c.closed && matches[c.id])
    .reduce((n, c) => n + c.unread, 0);

  const items: NavItem[] = [
    { to: "/discover", icon: "compass", label: "nav.discover", testId: "nav-discover" },
    { to: "/chats", icon: "chat", label: "nav.chats", badge: unread, testId: "nav-chats" },
  ];
  if (notifications.available !== false) {
    items.push({
      to: "/notifications",
      icon: "bell",
      label: "nav.notifications",
      badge: notifications.unread,
      testId: "nav-notifications",
    });
  }
  items.push({ to: "/settings", icon: "user", label: "nav.settings", testId: "nav-settings" });

  let screen: ReactNode;
  if (path.startsWith("/discover")) screen = <DiscoverScreen />;
  else if (path === "/chats" || chat) screen = <ChatsScreen conversationId={chat?.id ?? null} />;
  else if (path === "/notifications") screen = <NotificationsScreen />;
  else if (path === "/settings") screen = <SettingsScreen />;
  else if (path === "/profile") screen = <ProfileScreen />;
  else screen = <EmptyState icon="compass" title={t("common.not_found")} action={<a href="/discover" className="button" onClick={(e) => { e.preventDefault(); navigate("/discover"); }}>{t("nav.discover")}</a>} />;

  return (
    <div className={chat ? "app in-chat" : "app"}>
      <a className="skip-link" href="#main">
        {t("common.skip")}
      </a>
      <nav className="nav" aria-label={t("nav.label")}>
        <div className="nav-brand">
          <span className="brand-mark small" aria-hidden="true">
            <Icon name="heart" size={18} filled />
          </span>
          <span className="brand-name small">Rapport</span>
        </div>
        <ul className="nav-items">
          {items.map((item) => {
            const active = path === item.to || path.startsWith(`${item.to}/`);
            return (
              <li key={item.to}>
                <a
                  href={item.to}
                  className={active ? "nav-item active" : "nav-item"}
                  aria-current={active ? "page" : undefined}
                  data-testid={item.testId}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(item.to);
                  }}
                >
                  <span className="nav-icon">
                    <Icon name={item.icon} size={22} />
                    {item.badge ? (
                      <span className="nav-badge" aria-hidden="true">
                        {item.badge > 99 ? "99+" : item.badge}
                      </span>
                    ) : null}
                  </span>
                  <span className="nav-label">
                    {t(item.label)}
                    {item.badge ? <span className="sr-only"> ({t("chats.unread", { n: item.badge })})</span> : null}
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" className="main">
        <ConnectionBanner />
        {screen}
      </main>
      <MatchCelebration />
      <LiveToasts />
    </div>
  );
}

function ProfileScreen() {
  const { t } = useI18n();
  const app = useApp();
  const me = useStore(app.me);
  return (
    <div className="screen profile-screen">
      <header className="screen-header">
        <button type="button" className="icon-button back-visible" onClick={() => navigate("/settings")} aria-label={t("common.back")}>
          <Icon name="back" />
        </button>
        <h1>{t("profile.title")}</h1>
      </header>
      <div className="profile-body">
        <ProfileEditor me={me} onboarding={false} onSaved={(p) => app.me.set(p)} />
      </div>
    </div>
  );
}

function ConnectionBanner() {
  const { t } = useI18n();
  const app = useApp();
  const snap = useSyncExternalStore(app.engine.subscribe, app.engine.getSnapshot);
  const [shown, setShown] = useState(false);
  const wasDown = useRef(false);
  const [back, setBack] = useState(false);
  const down = snap.connection !== "online";

  useEffect(() => {
    if (!down) {
      setShown(false);
      if (wasDown.current) {
        wasDown.current = false;
        setBack(true);
        const timer = setTimeout(() => setBack(false), 1500);
        return () => clearTimeout(timer);
      }
      return undefined;
    }
    // Brief blips (and the first connect) do not flash a banner.
    const timer = setTimeout(() => {
      setShown(true);
      wasDown.current = true;
    }, snap.connection === "offline" ? 0 : 1200);
    return () => clearTimeout(timer);
  }, [down, snap.connection]);

  if (shown && down) {
    const offline = snap.connection === "offline";
    return (
      <div className={offline ? "conn-banner offline" : "conn-banner"} role="status" data-testid="connection-banner">
        {offline ? <Icon name="wifiOff" size={16} /> : <Spinner size={14} />}
        <span>{offline ? t("conn.offline") : snap.connection === "connecting" ? t("conn.connecting") : t("conn.reconnecting")}</span>
      </div>
    );
  }
  if (back) {
    return (
      <div className="conn-banner online" role="status" data-testid="connection-banner-back">
        <Icon name="check" size={16} />
        <span>{snap.syncing ? t("conn.syncing") : t("conn.back")}</span>
      </div>
    );
  }
  return null;
}

function MatchCelebration() {
  const { t } = useI18n();
  const app = useApp();
  const conversationId = useStore(app.celebrate);
  const matches = useStore(app.matches);
  const ai = useStore(app.ai);
  const me = useStore(app.me);
  if (!conversationId) return null;
  const m = matches[conversationId];
  const close = () => app.celebrate.set(null);
  const lines = ai.icebreakers[conversationId]?.opening_lines ?? [];
  return (
    <Dialog title={t("match.title")} tone="celebrate" onClose={close} testId="match-dialog">
      <div className="match-dialog">
        {m && (
          <div className="match-avatars">
            <Avatar name={me.display_name ?? "?"} id={app.engine.me} size={72} />
            <span className="match-heart" aria-hidden="true">
              <Icon name="heart" size={22} filled />
            </span>
            <Avatar name={m.peer.display_name} id={m.peer.id} size={72} />
          </div>
        )}
        <p>{m ? t("match.body", { name: m.peer.display_name }) : t("match.body_generic")}</p>
        {lines.length > 0 && (
          <div className="match-icebreaker">
            <span className="coach-head">
              <Icon name="sparkles" size={14} /> {t("ai.icebreaker_title")}
            </span>
            <p>“{lines[0]}”</p>
          </div>
        )}
      </div>
      <div className="dialog-footer">
        <button type="button" className="button" onClick={close}>
          {t("match.keep_browsing")}
        </button>
        <button
          type="button"
          className="button primary"
          data-autofocus
          onClick={() => {
            close();
            navigate(`/chats/${conversationId}`);
          }}
        >
          {t("match.say_hi")}
        </button>
      </div>
    </Dialog>
  );
}

/** In-app toasts for a new match, a message elsewhere, a notification, or a safety warning. */
function LiveToasts() {
  const { t } = useI18n();
  const app = useApp();
  const path = usePath();
  const pathRef = useRef(path);
  pathRef.current = path;
  const celebrated = useRef(new Set<string>());

  useEffect(() => {
    const offIncoming = app.incoming.subscribe(() => {
      const m = app.incoming.get();
      if (!m || pathRef.current === `/chats/${m.conversation_id}`) return;
      const peer = app.matches.get()[m.conversation_id]?.peer;
      toast(`${peer?.display_name ?? t("chat.someone")}: ${m.body.slice(0, 80)}`, "info", {
        icon: "chat",
        action: { label: t("common.open"), run: () => navigate(`/chats/${m.conversation_id}`) },
      });
    });
    const offCelebrate = app.celebrate.subscribe(() => {
      const id = app.celebrate.get();
      if (id) celebrated.current.add(id);
    });
    let known: Set<string> | null = null;
    const offMatches = app.matches.subscribe(() => {
      const ids = Object.keys(app.matches.get());
      if (known === null) {
        known = new Set(ids);
        return;
      }
      for (const id of ids) {
        if (known.has(id)) continue;
        known.add(id);
        if (!celebrated.current.has(id) && !app.celebrate.get()) app.celebrate.set(id);
      }
    });
    let seenNotifications = new Set(app.notifications.get().items.map((n) => n.id));
    const offNotifications = app.notifications.subscribe(() => {
      const items = app.notifications.get().items;
      const fresh = items.filter((n) => !seenNotifications.has(n.id));
      seenNotifications = new Set(items.map((n) => n.id));
      for (const n of fresh.slice(0, 1)) {
        if (n.read_at || n.kind === "message" || n.kind === "match") continue;
        const target = notificationTarget(n);
        toast(n.title, "info", {
          icon: "bell",
          action: target ? { label: t("common.open"), run: () => navigate(target) } : undefined,
        });
      }
    });
    let warned = app.ai.get().warnings.length;
    const offAi = app.ai.subscribe(() => {
      const warnings = app.ai.get().warnings;
      for (const w of warnings.slice(warned)) {
        if (pathRef.current !== `/chats/${w.conversation_id}`) {
          toast(t("safety.bother_title"), "error", {
            icon: "shield",
            action: { label: t("common.open"), run: () => navigate(`/chats/${w.conversation_id}`) },
          });
        }
      }
      warned = warnings.length;
    });
    return () => {
      offIncoming();
      offCelebrate();
      offMatches();
      offNotifications();
      offAi();
    };
  }, [app, t]);
  return null;
}
