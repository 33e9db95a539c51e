import { describe, expect, it } from "vitest";

import { en } from "./en";
import { detectLang, interpolate, translate } from "./index";
import { zhCN } from "./zh-CN";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("i18n", () => {
  it("zh-CN has every English key", () => {
    const missing = Object.keys(en).filter((k) => !(k in zhCN));
    expect(missing).toEqual([]);
  });

  it("en has every zh-CN key", () => {
    const extra = Object.keys(zhCN).filter((k) => !(k in en));
    expect(extra).toEqual([]);
  });

  it("no translation is empty and placeholders match", () => {
    for (const [key, text] of Object.entries(en)) {
      const zh = (zhCN as Record<string, string>)[key] ?? "";
      expect(text.trim(), key).not.toBe("");
      expect(zh.trim(), key).not.toBe("");
      expect(placeholders(zh), key).toEqual(placeholders(text));
    }
  });

  it("Chinese strings are Chinese (no untranslated English sentences)", () => {
    const allowed = new Set(["app.title", "list.sep"]);
    const untranslated = Object.entries(zhCN).filter(
      ([key, text]) => !allowed.has(key) && text === (en as Record<string, string>)[key] && /[a-z]{3,}/i.test(text),
    );
    expect(untranslated).toEqual([]);
  });

  it("follows the browser's language preference", () => {
    expect(detectLang(["zh-CN", "en-US"])).toBe("zh-CN");
    expect(detectLang(["zh-TW"])).toBe("zh-CN");
    expect(detectLang(["en-GB", "zh-CN"])).toBe("en");
    expect(detectLang(["fr-FR", "zh-Hans-CN", "en"])).toBe("zh-CN");
    expect(detectLang(["de-DE"])).toBe("en");
    expect(detectLang([])).toBe("en");
  });

  it("interpolates and translates", () => {
    expect(interpolate("Hi {name}, {n}", { name: "Ann", n: 3 })).toBe("Hi Ann, 3");
    expect(interpolate("Hi {other}", { name: "Ann" })).toBe("Hi {other}");
    expect(translate("zh-CN", "match.body", { name: "小林" })).toBe("你和小林互相喜欢。");
    expect(translate("en", "ai.assist")).toBe("AI assist");
    expect(translate("zh-CN", "ai.assist")).toBe("AI 助手");
  });
});
