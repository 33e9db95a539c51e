// The typed REST client: openapi-fetch over the types generated from the server's OpenAPI
// schema (scripts/gen-api-client). Every call carries a fresh access token; a 401 refreshes
// once and retries; failures become ApiError (problem JSON `code`) for the UI to translate.
import createClient, { type Middleware } from "openapi-fetch";

import { ApiError, networkError, problemError } from "./errors";
import type { components, paths } from "./schema";
import { session } from "./session";

export type Schemas = components["schemas"];

const auth: Middleware = {
  async onRequest({ request }) {
    if (new URL(request.url).pathname.startsWith("/api/v1/auth/")) return request;
    const token = await session.accessToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

const base = typeof window !== "undefined" ? window.location.origin : "http://localhost";

export const api = createClient<paths>({ baseUrl: base });
api.use(auth);

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

const REFRESHABLE = new Set(["token_expired", "token_invalid", "unauthorized", "not_signed_in"]);

/** Run an openapi-fetch call; return its data or throw an ApiError. */
export async function call<T>(fn: () => Promise<Outcome<T>>): Promise<T> {
  let out: Outcome<T>;
  try {
    out = await fn();
    if (out.response.status === 401 && session.current) {
      const code = problemError(401, out.error).code;
      if (REFRESHABLE.has(code) && (await session.refresh())) out = await fn();
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw networkError(err);
  }
  if (!out.response.ok) {
    const error = problemError(out.response.status, out.error);
    if (out.response.status === 401 && session.current && !REFRESHABLE.has(error.code)) {
      session.signOut("expired");
    }
    throw error;
  }
  return out.data as T;
}
