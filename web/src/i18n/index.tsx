// Two languages, one flat dictionary each. English is the reference: zh-CN must have exactly
// its keys (checked by the type below and by i18n.test.ts). The default follows
// navigator.languages; a choice made in Settings is remembered.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { en, type MessageKey } from "./en";
import { zhCN } from "./zh-CN";

export type Lang = "en" | "zh-CN";
export type { MessageKey };
export type Vars = Record<string, string | number>;
export type Translate = (key: MessageKey, vars?: Vars) => string;

export const LANGS: readonly Lang[] = ["en", "zh-CN"];
export const dictionaries: Record<Lang, Record<MessageKey, string>> = { en, "zh-CN": zhCN };

const STORAGE_KEY = "rapport.lang";

/** The first supported language in the browser's preference list (English otherwise). */
export function detectLang(languages: readonly string[]): Lang {
  for (const raw of languages) {
    const tag = raw.toLowerCase();
    if (tag.startsWith("zh")) return "zh-CN";
    if (tag.startsWith("en")) return "en";
  }
  return "en";
}

export function interpolate(template: string, vars?: Vars): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  // A key missing from both dictionaries (e.g. an unknown flag) comes back as itself.
  const template: string | undefined = dictionaries[lang][key] ?? en[key];
  return interpolate(template ?? key, vars);
}

function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === "en" || stored === "zh-CN") return stored;
  } catch {
    // no storage
  }
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language];
  return detectLang(langs);
}

interface I18n {
  lang: Lang;
  t: Translate;
  setLang: (lang: Lang) => void;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // not remembered
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = translate(lang, "app.title");
  }, [lang]);
  const value = useMemo<I18n>(
    () => ({ lang, setLang, t: (key, vars) => translate(lang, key, vars) }),
    [lang, setLang],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error("useI18n outside I18nProvider");
  return ctx;
}
