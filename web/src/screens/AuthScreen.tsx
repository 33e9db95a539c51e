import { useState, type FormEvent } from "react";

import { api, call } from "../api/client";
import { session } from "../api/session";
import { useI18n } from "../i18n";
import { errorText } from "../lib/errorText";
import { navigate } from "../router";
import { Icon } from "../ui/Icon";
import { Spinner } from "../ui/primitives";
import { LanguageSwitch } from "./LanguageSwitch";

export function AuthScreen({ mode, notice }: { mode: "login" | "signup"; notice: string | null }) {
  const { t, lang } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const signup = mode === "signup";

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const pair = signup
        ? await call(() =>
            api.POST("/api/v1/auth/register", { body: { email: email.trim(), password, locale: lang } }),
          )
        : await call(() => api.POST("/api/v1/auth/login", { body: { email: email.trim(), password } }));
      session.signIn(pair);
      navigate(signup ? "/profile" : "/discover", { replace: true });
    } catch (err) {
      setError(errorText(t, err));
      setBusy(false);
    }
  }

  return (
    <div className="auth">
      <div className="auth-top">
        <LanguageSwitch compact />
      </div>
      <div className="auth-hero">
        <div className="brand-mark" aria-hidden="true">
          <Icon name="heart" size={30} filled />
        </div>
        <h1 className="brand-name">Rapport</h1>
        <p className="brand-tagline">{t("auth.tagline")}</p>
      </div>
      <form className="card auth-card" onSubmit={submit} noValidate>
        <div className="tabs" role="tablist" aria-label={t("auth.choose")}>
          <button
            type="button"
            role="tab"
            aria-selected={!signup}
            className={!signup ? "tab active" : "tab"}
            onClick={() => navigate("/login", { replace: true })}
          >
            {t("auth.login")}
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={signup}
            className={signup ? "tab active" : "tab"}
            onClick={() => navigate("/signup", { replace: true })}
          >
            {t("auth.signup")}
          </button>
        </div>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label className="field">
          <span className="field-label">{t("field.email")}</span>
          <input
            type="email"
            name="email"
            autoComplete="email"
            inputMode="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <div className="field">
          <label className="field-label" htmlFor="auth-password">
            {t("field.password")}
          </label>
          <span className="input-with-button">
            <input
              id="auth-password"
              type={show ? "text" : "password"}
              name="password"
              autoComplete={signup ? "new-password" : "current-password"}
              required
              minLength={signup ? 10 : 1}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-describedby={signup ? "password-hint" : undefined}
            />
            <button
              type="button"
              className="icon-button"
              aria-label={show ? t("auth.hide_password") : t("auth.show_password")}
              aria-pressed={show}
              onClick={() => setShow(!show)}
            >
              <Icon name={show ? "eyeOff" : "eye"} size={18} />
            </button>
          </span>
          {signup && (
            <span id="password-hint" className="field-hint">
              {t("auth.password_hint")}
            </span>
          )}
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button primary block" disabled={busy || !email || !password}>
          {busy ? <Spinner size={18} /> : signup ? t("auth.create_account") : t("auth.login")}
        </button>
        <p className="auth-switch">
          {signup ? t("auth.have_account") : t("auth.no_account")}{" "}
          <a
            href={signup ? "/login" : "/signup"}
            onClick={(e) => {
              e.preventDefault();
              navigate(signup ? "/login" : "/signup", { replace: true });
            }}
          >
            {signup ? t("auth.login") : t("auth.signup")}
          </a>
        </p>
      </form>
      <p className="auth-foot">{t("auth.footer")}</p>
    </div>
  );
}
