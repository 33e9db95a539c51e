import { useI18n, type Lang } from "../i18n";
import { Icon } from "../ui/Icon";

const NAMES: Record<Lang, string> = { en: "English", "zh-CN": "中文" };

/** EN / 中文 toggle; the choice is remembered (and saved to the profile by Settings). */
export function LanguageSwitch({ compact = false, onChange }: { compact?: boolean; onChange?: (l: Lang) => void }) {
  const { lang, setLang, t } = useI18n();
  return (
    <div className={compact ? "lang-switch compact" : "lang-switch"} role="group" aria-label={t("settings.language")}>
      {compact && <Icon name="globe" size={16} />}
      {(Object.keys(NAMES) as Lang[]).map((l) => (
        <button
          key={l}
          type="button"
          lang={l}
          className={l === lang ? "seg active" : "seg"}
          aria-pressed={l === lang}
          onClick={() => {
            setLang(l);
            onChange?.(l);
          }}
        >
          {NAMES[l]}
        </button>
      ))}
    </div>
  );
}
