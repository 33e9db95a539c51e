import { useEffect, useState } from "react";

import { api, call, type Schemas } from "../api/client";
import { useI18n, type Lang } from "../i18n";
import { errorText } from "../lib/errorText";
import { disablePush, enablePush, pushState, type PushState } from "../lib/push";
import { useStore } from "../lib/store";
import { navigate } from "../router";
import { useApp, type Preferences } from "../state/app";
import { Icon } from "../ui/Icon";
import { Avatar, Spinner, Switch } from "../ui/primitives";
import { toast } from "../ui/toasts";
import { LanguageSwitch } from "./LanguageSwitch";

type NotificationSettings = Schemas["NotificationSettings"];
type NotificationSettingsUpdate = Schemas["NotificationSettingsUpdate"];

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function SettingsScreen() {
  const { t } = useI18n();
  const app = useApp();
  const me = useStore(app.me);
  const prefs = useStore(app.prefs);

  async function patchPrefs(patch: Partial<Preferences>) {
    const before = app.prefs.get();
    if (before) app.prefs.set({ ...before, ...patch });
    try {
      const saved = await call(() => api.PATCH("/api/v1/me/settings", { body: patch }));
      app.prefs.set(saved);
    } catch (err) {
      app.prefs.set(before);
      toast(errorText(t, err), "error");
    }
  }

  async function saveLocale(lang: Lang) {
    try {
      const saved = await call(() => api.PATCH("/api/v1/me", { body: { locale: lang } }));
      app.me.set(saved);
    } catch {
      // the choice still applies on this device
    }
  }

  async function exportData() {
    try {
      const data = await call(() => api.GET("/api/v1/me/export"));
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = "rapport-export.json";
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      toast(t("settings.export_done"), "success");
    } catch (err) {
      toast(errorText(t, err), "error");
    }
  }

  return (
    <div className="screen settings">
      <header className="screen-header">
        <h1>{t("nav.settings")}</h1>
      </header>
      <div className="settings-body">
        <section className="card profile-summary">
          <Avatar name={me.display_name ?? "?"} id={me.id} size={64} />
          <div className="profile-summary-text">
            <strong>{me.display_name}</strong>
            <span>
              {[me.age ? t("profile.age_years", { n: me.age }) : null, me.city].filter(Boolean).join(" · ")}
            </span>
          </div>
          <button type="button" className="button small" onClick={() => navigate("/profile")}>
            <Icon name="edit" size={16} /> {t("settings.edit_profile")}
          </button>
        </section>

        <section className="card settings-section">
          <h2 className="section-title">{t("settings.language")}</h2>
          <LanguageSwitch onChange={(l) => void saveLocale(l)} />
        </section>

        <section className="card settings-section">
          <h2 className="section-title">{t("settings.privacy")}</h2>
          {prefs ? (
            <>
              <Switch
                label={t("settings.read_receipts")}
                description={t("settings.read_receipts_desc")}
                checked={prefs.read_receipts}
                onChange={(v) => void patchPrefs({ read_receipts: v })}
              />
              <Switch
                label={t("settings.presence")}
                description={t("settings.presence_desc")}
                checked={prefs.show_presence}
                onChange={(v) => void patchPrefs({ show_presence: v })}
              />
            </>
          ) : (
            <Spinner label={t("common.loading")} />
          )}
        </section>

        <section className="card settings-section">
          <h2 className="section-title">{t("settings.ai")}</h2>
          {prefs && (
            <Switch
              label={t("settings.ai_enabled")}
              description={t("settings.ai_desc")}
              checked={prefs.ai_enabled !== false}
              onChange={(v) => void patchPrefs({ ai_enabled: v })}
            />
          )}
        </section>

        <NotificationSettingsSection />

        <section className="card settings-section">
          <h2 className="section-title">{t("settings.account")}</h2>
          <p className="account-email">{me.email}</p>
          <div className="row-gap wrap">
            <button type="button" className="button" onClick={() => void exportData()}>
              <Icon name="download" size={16} /> {t("settings.export")}
            </button>
            <button type="button" className="button danger-outline" onClick={() => void app.signOut()}>
              <Icon name="logout" size={16} /> {t("settings.logout")}
            </button>
          </div>
        </section>
      </div>
    </div>
  );
}

function NotificationSettingsSection() {
  const { t } = useI18n();
  const [settings, setSettings] = useState<NotificationSettings | null>(null);
  const [available, setAvailable] = useState<boolean | null>(null);
  const [push, setPush] = useState<PushState | null>(null);
  const [pushBusy, setPushBusy] = useState(false);

  useEffect(() => {
    call(() => api.GET("/api/v1/me/notification-settings")).then(
      (s) => {
        setSettings(s);
        setAvailable(true);
      },
      () => setAvailable(false),
    );
    void pushState().then(setPush);
  }, []);

  async function patch(next: NotificationSettingsUpdate) {
    const before = settings;
    if (before) setSettings({ ...before, ...next } as NotificationSettings);
    try {
      setSettings(await call(() => api.PATCH("/api/v1/me/notification-settings", { body: next })));
    } catch (err) {
      setSettings(before);
      toast(errorText(t, err), "error");
    }
  }

  async function togglePush() {
    setPushBusy(true);
    try {
      const next = push === "on" ? await disablePush() : await enablePush();
      setPush(next);
      if (next === "on") toast(t("push.enabled"), "success");
      if (next === "denied") toast(t("push.denied"), "error");
    } catch (err) {
      toast(errorText(t, err), "error");
    } finally {
      setPushBusy(false);
    }
  }

  const pushShown = push === "on" || push === "off" || push === "denied";
  if (available === false && !pushShown) return null;

  return (
    <section className="card settings-section" data-testid="notification-settings">
      <h2 className="section-title">{t("settings.notifications")}</h2>
      {available === null && <Spinner label={t("common.loading")} />}
      {settings && (
        <>
          <Switch label={t("settings.notify_messages")} checked={settings.messages} onChange={(v) => void patch({ messages: v })} />
          <Switch label={t("settings.notify_matches")} checked={settings.matches} onChange={(v) => void patch({ matches: v })} />
          <Switch label={t("settings.notify_reminders")} checked={settings.reminders} onChange={(v) => void patch({ reminders: v })} />
          <Switch
            label={t("settings.quiet_hours")}
            description={t("settings.quiet_hours_desc")}
            checked={settings.quiet_hours !== null}
            onChange={(v) =>
              void patch({ quiet_hours: v ? { start: "22:00", end: "08:00", timezone: browserZone() } : null })
            }
          />
          {settings.quiet_hours && (
            <div className="field-row quiet-hours">
              <label className="field">
                <span className="field-label">{t("settings.quiet_from")}</span>
                <input
                  type="time"
                  value={settings.quiet_hours.start}
                  onChange={(e) => {
                    const q = settings.quiet_hours;
                    if (q && e.target.value) void patch({ quiet_hours: { ...q, start: e.target.value } });
                  }}
                />
              </label>
              <label className="field">
                <span className="field-label">{t("settings.quiet_to")}</span>
                <input
                  type="time"
                  value={settings.quiet_hours.end}
                  onChange={(e) => {
                    const q = settings.quiet_hours;
                    if (q && e.target.value) void patch({ quiet_hours: { ...q, end: e.target.value } });
                  }}
                />
              </label>
              <span className="field-hint">{settings.quiet_hours.timezone}</span>
            </div>
          )}
        </>
      )}
      {pushShown && (
        <div className="push-row">
          <div className="switch-text">
            <span className="switch-label">{t("push.title")}</span>
            <span className="switch-desc">
              {push === "on" ? t("push.on") : push === "denied" ? t("push.denied") : t("push.off")}
            </span>
          </div>
          <button
            type="button"
            className={push === "on" ? "button small" : "button small primary"}
            disabled={pushBusy || push === "denied"}
            onClick={() => void togglePush()}
          >
            {pushBusy ? <Spinner size={14} /> : push === "on" ? t("push.disable") : t("push.enable")}
          </button>
        </div>
      )}
    </section>
  );
}
