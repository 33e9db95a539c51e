// Errors as translated human sentences: by the stable `code`, else by HTTP status. The server's
// own English `detail` is never shown, so a zh-CN user never sees an English or raw message.
import { ApiError, toApiError } from "../api/errors";
import { en } from "../i18n/en";
import type { MessageKey, Translate } from "../i18n";

const FIELD_KEYS: Record<string, MessageKey> = {
  email: "field.email",
  password: "field.password",
  display_name: "field.display_name",
  birth_date: "field.birth_date",
  gender: "field.gender",
  seeking: "field.seeking",
  bio: "field.bio",
  city: "field.city",
  interests: "field.interests",
  languages: "field.languages",
  body: "field.message",
  details: "field.details",
};

function isKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

function fieldNames(t: Translate, error: ApiError): string[] {
  const names = new Set<string>();
  for (const f of error.fields) {
    for (const part of f.field.split(".").reverse()) {
      const key = FIELD_KEYS[part];
      if (key) {
        names.add(t(key));
        break;
      }
    }
  }
  return [...names];
}

export function errorText(t: Translate, err: unknown): string {
  const e = toApiError(err);
  if (e.code === "validation_error") {
    const names = fieldNames(t, e);
    return names.length ? t("error.validation_fields", { fields: names.join(t("list.sep")) }) : t("error.validation_error");
  }
  const key = `error.${e.code}`;
  if (isKey(key)) return t(key, { seconds: e.retryAfterS ?? 1 });
  if (e.status === 0) return t("error.network");
  if (e.status === 401) return t("error.unauthorized");
  if (e.status === 403) return t("error.forbidden");
  if (e.status === 404) return t("error.not_found");
  if (e.status === 409) return t("error.conflict");
  if (e.status === 429) return t("error.rate_limited", { seconds: e.retryAfterS ?? 1 });
  if (e.status >= 500) return t("error.server_error");
  return t("error.generic");
}
