// Refusals become audit events, named by what was asked (`host.exec`, `cluster.create`), not by the
// route: a 400 (invalid input), 404 (no such thing, or another tenant's), 409 (a duplicate, a revoked
// host) and the other input refusals (410, 413, 422) are written here, once, after the handler threw.
//
// Only refusals to an authenticated caller are written, with that caller as the actor: a request
// without a valid key never gets here with a caller, and failed authentication is already counted by
// the throttle and written as one sampled `auth.failures` event per window (auth/throttle.ts), so no
// unauthenticated flood can write a row per request. 401 and 429 are the throttle's; 403 is written
// where it is decided (auth/roles.ts, and the routes that refuse with a reason of their own).
//
// The target is written as the caller gave it (the route's parameters, or the name in the body), so
// that a 404 for a misspelt host reads as what was tried; it is attacker-chosen text, so control
// characters are escaped and its length is bounded before it is stored.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { escapeControlCharacters } from "../../schema/protocol/control-characters.ts";
import { audit } from "../db/audit.ts";
import type { AppEnv } from "../env.ts";
import { requestAction } from "./action-names.ts";
import { ApiError } from "./api-error.ts";

/** Longest target and message kept in an audit row, in characters, after escaping. */
const MAX_TARGET = 200;
const MAX_MESSAGE = 300;

/** Refusals of the request itself; auth (401, 429) and role (403) refusals are audited elsewhere. */
const AUDITED = new Set([400, 404, 409, 410, 413, 422]);

/** Attacker-controlled text as it may be stored and printed: visible escapes, bounded length. */
function boundedText(text: string, max: number): string {
  const escaped = escapeControlCharacters(text);
  return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1)}…`;
}

function _refusal(err: Error | undefined): { status: number; code: string; message: string } | undefined {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof HTTPException) {
    return {
      status: err.status,
      code: err.status === 413 ? "payload_too_large" : "invalid_request",
      message: err.message,
    };
  }
  return undefined;
}

/** The name the body gave what it creates, when the handler already parsed a JSON body. */
async function _bodyTarget(c: Context<AppEnv>): Promise<string | undefined> {
  // Only a body the handler read already (hono caches it): reading one here would read it twice.
  if (Object.keys(c.req.bodyCache).length === 0) return undefined;
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return undefined; // malformed JSON: the refusal's message says so
  }
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  if (text(b.cluster) && text(b.site)) return `${b.cluster}/${b.site}`;
  return text(b.name) ?? text(b.host) ?? text(b.from) ?? text(b.domain) ?? text(b.cluster);
}

async function _target(c: Context<AppEnv>): Promise<string | null> {
  const parts = Object.values(c.req.param() as Record<string, string>);
  const named = await _bodyTarget(c);
  if (named !== undefined) parts.push(named);
  return parts.length ? boundedText(parts.join("/"), MAX_TARGET) : null;
}

export const auditRefusals = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const refusal = _refusal(c.error);
  if (!refusal || !AUDITED.has(refusal.status)) return;
  const caller = c.get("caller") as AppEnv["Variables"]["caller"] | undefined;
  if (!caller) return;
  try {
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: requestAction(c),
      target: await _target(c),
      outcome: "denied",
      details: {
        status: refusal.status,
        code: refusal.code,
        message: boundedText(refusal.message, MAX_MESSAGE),
      },
    });
  } catch (err) {
    // The caller still hears why it was refused; a database that cannot take the record is logged.
    console.error("cannot write the audit event of a refusal", err);
  }
});
