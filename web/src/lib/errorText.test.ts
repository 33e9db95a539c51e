import { describe, expect, it } from "vitest";

import { ApiError, problemError, toApiError } from "../api/errors";
import { translate, type Lang, type MessageKey, type Vars } from "../i18n";
import { errorText } from "./errorText";

const t = (lang: Lang) => (key: MessageKey, vars?: Vars) => translate(lang, key, vars);

describe("error messages", () => {
  it("translates problem JSON by its stable code, never showing the server's detail", () => {
    const err = problemError(401, {
      type: "https://rapport.dev/problems/invalid_credentials",
      title: "Invalid credentials",
      status: 401,
      detail: "Email or password is wrong.",
      code: "invalid_credentials",
    });
    expect(errorText(t("en"), err)).toBe("The email or password is wrong.");
    expect(errorText(t("zh-CN"), err)).toBe("邮箱或密码不正确。");
  });

  it("names invalid fields in the user's language", () => {
    const err = problemError(422, {
      code: "validation_error",
      detail: "Invalid input: body.password.",
      errors: [{ field: "body.password", message: "String should have at least 10 characters", type: "x" }],
    });
    expect(errorText(t("en"), err)).toBe("Please check: Password.");
    expect(errorText(t("zh-CN"), err)).toBe("请检查：密码。");
  });

  it("falls back by status for unknown codes and non-JSON bodies", () => {
    expect(errorText(t("en"), problemError(503, "<html>Bad gateway</html>"))).toBe(
      "Something went wrong on our side. Please try again in a moment.",
    );
    expect(errorText(t("en"), problemError(403, { code: "brand_new_code", detail: "x" }))).toBe(
      "You are not allowed to do that.",
    );
    expect(errorText(t("zh-CN"), new TypeError("Failed to fetch"))).toBe("无法连接到 Rapport，请检查网络。");
  });

  it("reads socket acks {ok: false, error: {code, message}}", () => {
    const err = toApiError({ ok: false, error: { code: "rate_limited", message: "Sending too fast.", retry_after_s: 3 } });
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("rate_limited");
    expect(errorText(t("en"), err)).toBe("Slow down a little. Try again in 3 s.");
    expect(errorText(t("en"), { error: { code: "ai_disabled", message: "off" } })).toBe(
      "The AI assistant is turned off in your settings.",
    );
  });
});
