// The one error type of the API. Everything that goes wrong ends up as an ApiError and is rendered in
// one place (http/on-error.ts) as `{ "error": { "code", "message" } }`.
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    /** Response headers the refusal needs (Retry-After on a 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  /**
   * The refusal as the API's JSON error response, for code that answers outside the Hono app (a
   * Durable Object's fetch router); inside the app, http/on-error.ts renders it the same way.
   */
  toResponse(): Response {
    return Response.json(
      { error: { code: this.code, message: this.message } },
      { status: this.status, headers: this.headers },
    );
  }

  static badRequest(message: string, code = "invalid_request"): ApiError {
    return new ApiError(400, code, message);
  }
  static unauthorized(message: string): ApiError {
    return new ApiError(401, "unauthorized", message);
  }
  static forbidden(message: string): ApiError {
    return new ApiError(403, "forbidden", message);
  }
  /** Also what another tenant's resource answers: its existence is not disclosed. */
  static notFound(what: string): ApiError {
    return new ApiError(404, "not_found", `${what} not found`);
  }
  static conflict(message: string): ApiError {
    return new ApiError(409, "conflict", message);
  }
  /** RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3) in whole seconds. */
  static tooManyRequests(message: string, retryAfterSeconds: number): ApiError {
    return new ApiError(429, "too_many_requests", message, { "retry-after": String(retryAfterSeconds) });
  }
}
