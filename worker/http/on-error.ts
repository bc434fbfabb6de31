import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "./api-error.ts";

export function renderError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json({ error: { code: err.code, message: err.message } }, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    // Hono's own parsers: malformed JSON bodies and the like.
    const status = err.status;
    const code = status === 413 ? "payload_too_large" : status === 400 ? "invalid_request" : "http_error";
    return c.json({ error: { code, message: err.message } }, status);
  }
  console.error("unhandled error", err);
  return c.json({ error: { code: "internal", message: "internal error; see the Worker logs" } }, 500);
}
