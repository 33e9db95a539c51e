import { useCallback, useEffect, useState } from "react";

import { api, call, type Schemas } from "../api/client";
import { toApiError } from "../api/errors";
import { useI18n, type MessageKey } from "../i18n";
import { errorText } from "../lib/errorText";
import { navigate } from "../router";
import { useApp } from "../state/app";
import { Icon } from "../ui/Icon";
import { Avatar, EmptyState, Spinner } from "../ui/primitives";
import { toast } from "../ui/toasts";

type Candidate = Schemas["Candidate"];

const DISTANCE_KEYS: Record<string, MessageKey> = {
  under_1km: "distance.under_1km",
  under_5km: "distance.under_5km",
  under_10km: "distance.under_10km",
  under_25km: "distance.under_25km",
  under_50km: "distance.under_50km",
  under_100km: "distance.under_100km",
  over_100km: "distance.over_100km",
};

export function DiscoverScreen() {
  const { t, lang } = useI18n();
  const app = useApp();
  const [cards, setCards] = useState<Candidate[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    setError(null);
    setCards(null);
    try {
      const page = await call(() => api.GET("/api/v1/discover", { params: { query: { limit: 20 } } }));
      setCards(page.candidates);
    } catch (err) {
      if (toApiError(err).code === "profile_incomplete") {
        navigate("/profile", { replace: true });
        return;
      }
      setError(errorText(t, err));
      setCards([]);
    }
  }, [t]);

  useEffect(() => {
    void load();
  }, [load]);

  const current = cards?.[0];

  async function decide(kind: "like" | "pass") {
    if (!current || busy) return;
    setBusy(true);
    const id = current.profile.id;
    try {
      if (kind === "like") {
        const res = await call(() => api.POST("/api/v1/users/{user_id}/like", { params: { path: { user_id: id } } }));
        if (res.matched && res.match?.conversation_id) {
          await app.refreshMatches().catch(() => undefined);
          app.celebrate.set(res.match.conversation_id);
        }
      } else {
        await call(() => api.POST("/api/v1/users/{user_id}/pass", { params: { path: { user_id: id } } }));
      }
      setCards((list) => (list ? list.filter((c) => c.profile.id !== id) : list));
    } catch (err) {
      toast(errorText(t, err), "error");
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
      if (document.querySelector(".dialog")) return;
      if (e.key === "ArrowRight") void decide("like");
      else if (e.key === "ArrowLeft") void decide("pass");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <div className="screen discover">
      <header className="screen-header">
        <h1>{t("nav.discover")}</h1>
        <button type="button" className="icon-button" onClick={() => void load()} aria-label={t("discover.refresh")}>
          <Icon name="refresh" />
        </button>
      </header>
      <div className="discover-body">
        {cards === null && (
          <div className="candidate card skeleton" aria-busy="true">
            <Spinner label={t("discover.loading")} />
          </div>
        )}
        {cards !== null && !current && (
          <EmptyState
            icon="compass"
            title={error ? t("discover.error_title") : t("discover.empty_title")}
            body={error ?? t("discover.empty_body")}
            action={
              <div className="row-gap">
                <button type="button" className="button" onClick={() => void load()}>
                  {t("common.try_again")}
                </button>
                <button type="button" className="button ghost" onClick={() => navigate("/profile")}>
                  {t("discover.edit_profile")}
                </button>
              </div>
            }
          />
        )}
        {current && (
          <CandidateCard
            key={current.profile.id}
            candidate={current}
            lang={lang}
            busy={busy}
            onLike={() => void decide("like")}
            onPass={() => void decide("pass")}
          />
        )}
        {current && cards && cards.length > 1 && (
          <p className="discover-more">{t("discover.more", { n: cards.length - 1 })}</p>
        )}
      </div>
    </div>
  );
}

function CandidateCard({
  candidate,
  lang,
  busy,
  onLike,
  onPass,
}: {
  candidate: Candidate;
  lang: string;
  busy: boolean;
  onLike: () => void;
  onPass: () => void;
}) {
  const { t } = useI18n();
  const p = candidate.profile;
  const shared = new Set(candidate.explanation.shared_interests.map((i) => i.id));
  const score = Math.round(Math.max(0, Math.min(1, candidate.score)) * 100);
  const summary = lang === "zh-CN" ? candidate.explanation.summary_zh : candidate.explanation.summary_en;
  const distance = p.distance ? DISTANCE_KEYS[p.distance] : undefined;
  const interests = [...p.interests].sort((a, b) => Number(shared.has(b.id)) - Number(shared.has(a.id)));
  return (
    <article className="candidate card" aria-labelledby={`cand-${p.id}`} data-testid="candidate">
      <div className="candidate-hero">
        <Avatar name={p.display_name} id={p.id} size={96} />
        <div className="score-ring" style={{ ["--score" as string]: `${score}` }} aria-label={t("discover.score", { n: score })}>
          <span>{score}%</span>
        </div>
      </div>
      <div className="candidate-body">
        <h2 id={`cand-${p.id}`} className="candidate-name">
          {p.display_name}
          <span className="candidate-age">{p.age}</span>
        </h2>
        <p className="candidate-meta">
          {p.city && (
            <span>
              <Icon name="pin" size={14} /> {p.city}
            </span>
          )}
          {distance && <span>{t(distance)}</span>}
          <span className={`active-${p.active}`}>{t(`active.${p.active}`)}</span>
        </p>
        <div className="why" data-testid="compatibility">
          <Icon name="sparkles" size={16} />
          <span>{summary}</span>
        </div>
        {p.bio && <p className="candidate-bio">{p.bio}</p>}
        {interests.length > 0 && (
          <ul className="chips" aria-label={t("field.interests")}>
            {interests.map((i) => (
              <li key={i.id} className={shared.has(i.id) ? "chip shared" : "chip"}>
                {lang === "zh-CN" ? i.zh : i.en}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="candidate-actions">
        <button type="button" className="round-button pass" onClick={onPass} disabled={busy} aria-label={t("discover.pass_name", { name: p.display_name })}>
          <Icon name="x" size={28} />
        </button>
        <button type="button" className="round-button like" onClick={onLike} disabled={busy} aria-label={t("discover.like_name", { name: p.display_name })}>
          <Icon name="heart" size={28} filled />
        </button>
      </div>
      <p className="kbd-hint" aria-hidden="true">
        {t("discover.keys")}
      </p>
    </article>
  );
}
