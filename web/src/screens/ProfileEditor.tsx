import { useEffect, useMemo, useState, type FormEvent } from "react";

import { api, call, type Schemas } from "../api/client";
import { useI18n, type MessageKey } from "../i18n";
import { errorText } from "../lib/errorText";
import type { MyProfile } from "../state/app";
import { Icon } from "../ui/Icon";
import { Spinner } from "../ui/primitives";
import { toast } from "../ui/toasts";

type Gender = "woman" | "man" | "nonbinary";
type Taxonomy = Schemas["TaxonomyOut"];
type ProfileUpdate = Schemas["ProfileUpdate"];

const GENDERS: Gender[] = ["woman", "man", "nonbinary"];
const LANGUAGES = ["zh", "en", "ja", "ko", "fr", "es", "de"];
const MAX_INTERESTS = 20;

let taxonomyCache: Promise<Taxonomy> | null = null;
function loadTaxonomy(): Promise<Taxonomy> {
  taxonomyCache ??= call(() => api.GET("/api/v1/interests")).catch((err: unknown) => {
    taxonomyCache = null;
    throw err;
  });
  return taxonomyCache;
}

function adultCutoff(): string {
  const d = new Date();
  d.setFullYear(d.getFullYear() - 18);
  return d.toISOString().slice(0, 10);
}

export function ProfileEditor({
  me,
  onboarding,
  onSaved,
}: {
  me: MyProfile;
  onboarding: boolean;
  onSaved: (p: MyProfile) => void;
}) {
  const { t, lang } = useI18n();
  const [name, setName] = useState(me.display_name ?? "");
  const [birth, setBirth] = useState(me.birth_date ?? "");
  const [gender, setGender] = useState<Gender | null>(me.gender ?? null);
  const [seeking, setSeeking] = useState<Gender[]>(me.seeking?.genders ?? []);
  const [ageMin, setAgeMin] = useState(me.seeking?.age_min ?? 22);
  const [ageMax, setAgeMax] = useState(me.seeking?.age_max ?? 40);
  const [bio, setBio] = useState(me.bio ?? "");
  const [city, setCity] = useState(me.city ?? "");
  const [languages, setLanguages] = useState<string[]>(me.languages.length ? me.languages : [lang === "zh-CN" ? "zh" : "en"]);
  const [interests, setInterests] = useState<string[]>(me.interests.map((i) => i.id));
  const [location, setLocation] = useState<{ lat: number; lon: number } | null | undefined>(undefined);
  const [locating, setLocating] = useState(false);
  const [taxonomy, setTaxonomy] = useState<Taxonomy | null>(null);
  const [taxError, setTaxError] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    loadTaxonomy().then(setTaxonomy, (err: unknown) => setTaxError(errorText(t, err)));
  }, [t]);

  const labelOf = useMemo(() => {
    const map = new Map<string, string>();
    for (const i of me.interests) map.set(i.id, lang === "zh-CN" ? i.zh : i.en);
    for (const tag of taxonomy?.tags ?? []) map.set(tag.id, lang === "zh-CN" ? tag.zh : tag.en);
    return map;
  }, [taxonomy, me.interests, lang]);

  const groups = useMemo(() => {
    if (!taxonomy) return [];
    const q = filter.trim().toLowerCase();
    return taxonomy.categories
      .map((c) => ({
        id: c.id ?? "",
        label: (lang === "zh-CN" ? c.zh : c.en) ?? c.id ?? "",
        tags: taxonomy.tags.filter(
          (tag) =>
            tag.category === c.id &&
            (!q || tag.en.toLowerCase().includes(q) || tag.zh.includes(q)),
        ),
      }))
      .filter((g) => g.tags.length > 0);
  }, [taxonomy, filter, lang]);

  const toggle = <T,>(list: T[], item: T): T[] =>
    list.includes(item) ? list.filter((x) => x !== item) : [...list, item];

  function toggleInterest(id: string) {
    if (!interests.includes(id) && interests.length >= MAX_INTERESTS) {
      toast(t("profile.too_many_interests", { max: MAX_INTERESTS }), "error");
      return;
    }
    setInterests(toggle(interests, id));
  }

  function locate() {
    if (!("geolocation" in navigator)) {
      toast(t("profile.location_unavailable"), "error");
      return;
    }
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        setLocation({ lat: pos.coords.latitude, lon: pos.coords.longitude });
        setLocating(false);
      },
      () => {
        toast(t("profile.location_denied"), "error");
        setLocating(false);
      },
      { maximumAge: 600_000, timeout: 15_000 },
    );
  }

  const missing: MessageKey[] = [];
  if (!name.trim()) missing.push("field.display_name");
  if (!birth) missing.push("field.birth_date");
  if (!gender) missing.push("field.gender");
  if (seeking.length === 0) missing.push("field.seeking");

  async function save(e: FormEvent) {
    e.preventDefault();
    if (missing.length) {
      setError(t("profile.missing", { fields: missing.map((k) => t(k)).join(t("list.sep")) }));
      return;
    }
    if (ageMin > ageMax) {
      setError(t("profile.age_range_invalid"));
      return;
    }
    setBusy(true);
    setError(null);
    const body: ProfileUpdate = {
      display_name: name.trim(),
      birth_date: birth,
      gender,
      seeking: { genders: seeking, age_min: ageMin, age_max: ageMax },
      bio: bio.trim(),
      city: city.trim() || null,
      languages,
      interests,
      locale: lang,
    };
    if (location !== undefined) body.location = location;
    try {
      const saved = await call(() => api.PATCH("/api/v1/me", { body }));
      setLocation(undefined);
      onSaved(saved);
      if (!onboarding) toast(t("profile.saved"), "success");
    } catch (err) {
      setError(errorText(t, err));
    } finally {
      setBusy(false);
    }
  }

  const locationSet = location === undefined ? me.location.set : location !== null;

  return (
    <form className="profile-form" onSubmit={save} noValidate aria-label={t("profile.title")}>
      <section className="card form-section">
        <h2 className="section-title">{t("profile.basics")}</h2>
        <label className="field">
          <span className="field-label">{t("field.display_name")}</span>
          <input
            name="display_name"
            maxLength={40}
            autoComplete="nickname"
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label className="field">
          <span className="field-label">{t("field.birth_date")}</span>
          <input
            type="date"
            name="birth_date"
            required
            max={adultCutoff()}
            min="1920-01-01"
            value={birth}
            onChange={(e) => setBirth(e.target.value)}
          />
          <span className="field-hint">{t("profile.age_note")}</span>
        </label>
        <fieldset className="field">
          <legend className="field-label">{t("field.gender")}</legend>
          <div className="segmented">
            {GENDERS.map((g) => (
              <label key={g} className={gender === g ? "seg-option active" : "seg-option"}>
                <input type="radio" name="gender" value={g} checked={gender === g} onChange={() => setGender(g)} />
                <span>{t(`gender.${g}`)}</span>
              </label>
            ))}
          </div>
        </fieldset>
      </section>

      <section className="card form-section">
        <h2 className="section-title">{t("profile.looking_for")}</h2>
        <fieldset className="field">
          <legend className="field-label">{t("field.seeking")}</legend>
          <div className="chips">
            {GENDERS.map((g) => (
              <label key={g} className={seeking.includes(g) ? "chip selectable selected" : "chip selectable"}>
                <input
                  type="checkbox"
                  name="seeking"
                  value={g}
                  checked={seeking.includes(g)}
                  onChange={() => setSeeking(toggle(seeking, g))}
                />
                {t(`gender.${g}.plural`)}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="field-row">
          <label className="field">
            <span className="field-label">{t("profile.age_min")}</span>
            <input
              type="number"
              name="age_min"
              min={18}
              max={99}
              inputMode="numeric"
              value={ageMin}
              onChange={(e) => setAgeMin(Number(e.target.value))}
            />
          </label>
          <span className="field-row-sep" aria-hidden="true">
            –
          </span>
          <label className="field">
            <span className="field-label">{t("profile.age_max")}</span>
            <input
              type="number"
              name="age_max"
              min={18}
              max={99}
              inputMode="numeric"
              value={ageMax}
              onChange={(e) => setAgeMax(Number(e.target.value))}
            />
          </label>
        </div>
      </section>

      <section className="card form-section">
        <h2 className="section-title">{t("profile.about")}</h2>
        <label className="field">
          <span className="field-label">{t("field.bio")}</span>
          <textarea
            name="bio"
            rows={4}
            maxLength={500}
            placeholder={t("profile.bio_placeholder")}
            value={bio}
            onChange={(e) => setBio(e.target.value)}
          />
          <span className="field-hint counter">{bio.length} / 500</span>
        </label>
        <label className="field">
          <span className="field-label">{t("field.city")}</span>
          <input name="city" maxLength={80} autoComplete="address-level2" value={city} onChange={(e) => setCity(e.target.value)} />
        </label>
        <div className="field">
          <span className="field-label">{t("profile.location")}</span>
          <div className="location-row">
            <span className="location-state">
              <Icon name="pin" size={16} />
              {locationSet ? t("profile.location_set") : t("profile.location_not_set")}
            </span>
            <button type="button" className="button small" onClick={locate} disabled={locating}>
              {locating ? <Spinner size={14} /> : t("profile.use_location")}
            </button>
            {locationSet && (
              <button type="button" className="button small ghost" onClick={() => setLocation(null)}>
                {t("profile.clear_location")}
              </button>
            )}
          </div>
          <span className="field-hint">{t("profile.location_hint")}</span>
        </div>
        <fieldset className="field">
          <legend className="field-label">{t("field.languages")}</legend>
          <div className="chips">
            {LANGUAGES.map((l) => (
              <label key={l} className={languages.includes(l) ? "chip selectable selected" : "chip selectable"}>
                <input
                  type="checkbox"
                  name="languages"
                  value={l}
                  checked={languages.includes(l)}
                  onChange={() => setLanguages(toggle(languages, l))}
                />
                {t(`language.${l}` as MessageKey)}
              </label>
            ))}
          </div>
        </fieldset>
      </section>

      <section className="card form-section">
        <div className="section-head">
          <h2 className="section-title">{t("field.interests")}</h2>
          <span className="section-meta" aria-live="polite">
            {t("profile.interests_count", { n: interests.length, max: MAX_INTERESTS })}
          </span>
        </div>
        <p className="section-hint">{t("profile.interests_hint")}</p>
        {interests.length > 0 && (
          <div className="chips selected-interests" aria-label={t("profile.selected_interests")}>
            {interests.map((id) => (
              <button
                key={id}
                type="button"
                className="chip selected removable"
                onClick={() => toggleInterest(id)}
                aria-label={t("profile.remove_interest", { name: labelOf.get(id) ?? id })}
              >
                {labelOf.get(id) ?? id}
                <Icon name="x" size={14} />
              </button>
            ))}
          </div>
        )}
        <label className="field search-field">
          <span className="sr-only">{t("profile.search_interests")}</span>
          <Icon name="search" size={16} />
          <input
            type="search"
            placeholder={t("profile.search_interests")}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
        </label>
        {!taxonomy && !taxError && <Spinner label={t("common.loading")} />}
        {taxError && <p className="form-error">{taxError}</p>}
        <div className="taxonomy">
          {groups.map((g) => (
            <details key={g.id} className="tax-group" open={Boolean(filter) || undefined}>
              <summary>
                <span>{g.label}</span>
                <span className="tax-count">
                  {g.tags.filter((tag) => interests.includes(tag.id)).length || ""}
                </span>
              </summary>
              <div className="chips">
                {g.tags.map((tag) => {
                  const on = interests.includes(tag.id);
                  return (
                    <button
                      key={tag.id}
                      type="button"
                      className={on ? "chip selectable selected" : "chip selectable"}
                      aria-pressed={on}
                      onClick={() => toggleInterest(tag.id)}
                    >
                      {lang === "zh-CN" ? tag.zh : tag.en}
                    </button>
                  );
                })}
              </div>
            </details>
          ))}
        </div>
      </section>

      <div className="form-actions sticky-actions">
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button primary block" disabled={busy}>
          {busy ? <Spinner size={18} /> : onboarding ? t("profile.finish") : t("profile.save")}
        </button>
      </div>
    </form>
  );
}
