import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

export const SHOTS = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "test-results");
export const PASSWORD = "browser-test-password-1";

export function baseUrl(): string {
  const url = process.env.RAPPORT_E2E_URL;
  if (!url) throw new Error("RAPPORT_E2E_URL is not set (global-setup starts the server)");
  return url;
}

export const MOBILE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export async function newPerson(
  browser: Browser,
  locale: "en-US" | "zh-CN",
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: baseUrl(),
    locale,
    viewport,
    timezoneId: "Asia/Shanghai",
  });
  const page = await context.newPage();
  page.on("pageerror", (err) => {
    throw new Error(`page error: ${err.message}`);
  });
  return { context, page };
}

export function uniqueEmail(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@example.com`;
}

/** Nothing on the page looks like raw JSON or an untranslated server error. */
export async function expectNoRawJson(page: Page): Promise<void> {
  const text = await page.locator("body").innerText();
  expect(text).not.toMatch(/[{[]\s*"[a-z_]+"\s*:/);
  expect(text).not.toContain("[object Object]");
  expect(text).not.toContain("undefined");
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  // Let animations (bubbles, dialogs) settle.
  await page.waitForTimeout(350);
  await page.screenshot({ path, fullPage: false });
  return path;
}

export interface Api {
  register(email: string, locale?: "en" | "zh-CN"): Promise<{ id: string; token: string }>;
  profile(token: string, body: Record<string, unknown>): Promise<void>;
  like(token: string, userId: string): Promise<{ matched: boolean; conversationId: string | null }>;
}

/** Direct REST calls, for setting up people a scenario does not need to click through. */
export function api(): Api {
  const url = baseUrl();
  const json = async (res: Response) => {
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  return {
    async register(email, locale = "en") {
      const body = await json(
        await fetch(`${url}/api/v1/auth/register`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ email, password: PASSWORD, locale }),
        }),
      );
      return { id: String(body.user_id), token: String(body.access_token) };
    },
    async profile(token, body) {
      await json(
        await fetch(`${url}/api/v1/me`, {
          method: "PATCH",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        }),
      );
    },
    async like(token, userId) {
      const body = await json(
        await fetch(`${url}/api/v1/users/${userId}/like`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}` },
        }),
      );
      const match = body.match as { conversation_id?: string } | null;
      return { matched: Boolean(body.matched), conversationId: match?.conversation_id ?? null };
    },
  };
}
