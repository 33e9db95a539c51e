// Errors from the REST API (RFC 9457 problem JSON with a stable `code`) and from socket acks
// (`{ok: false, error: {code, message}}`), in one shape the UI translates by code.

export interface FieldProblem {
  field: string;
  message: string;
  type: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldProblem[];
  readonly retryAfterS: number | null;
  readonly extra: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { fields?: FieldProblem[]; retryAfterS?: number | null; extra?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = options.fields ?? [];
    this.retryAfterS = options.retryAfterS ?? null;
    this.extra = options.extra ?? {};
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Build an ApiError from a failed response and its parsed body (problem JSON or anything). */
export function problemError(status: number, body: unknown): ApiError {
  if (isRecord(body) && typeof body.code === "string") {
    const fields = Array.isArray(body.errors)
      ? body.errors.filter(isRecord).map((e) => ({
          field: String(e.field ?? ""),
          message: String(e.message ?? ""),
          type: String(e.type ?? ""),
        }))
      : [];
    const retry = typeof body.retry_after_s === "number" ? body.retry_after_s : null;
    const detail = typeof body.detail === "string" ? body.detail : body.code;
    return new ApiError(status, body.code, detail, { fields, retryAfterS: retry, extra: body });
  }
  const code = status >= 500 ? "server_error" : status === 404 ? "not_found" : "http_error";
  return new ApiError(status, code, `HTTP ${status}`);
}

export function networkError(cause: unknown): ApiError {
  const message = cause instanceof Error ? cause.message : "network";
  return new ApiError(0, "network", message);
}

export function toApiError(value: unknown): ApiError {
  if (value instanceof ApiError) return value;
  if (isRecord(value) && isRecord(value.error) && typeof value.error.code === "string") {
    const retry = typeof value.error.retry_after_s === "number" ? value.error.retry_after_s : null;
    return new ApiError(0, value.error.code, String(value.error.message ?? ""), {
      extra: value.error,
      retryAfterS: retry,
    });
  }
  return networkError(value);
}
