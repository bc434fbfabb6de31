// The platform admin token (Worker secret OUTPOST_ADMIN_TOKEN) creates tenants. Compared through
// hashes in constant time, so neither its length nor its content leaks through timing.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { audit } from "../lib/audit.ts";
import { constantTimeEqual, sha256Hex } from "../lib/crypto.ts";
import { bearer } from "./api-key.ts";

export const platformAdminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.OUTPOST_ADMIN_TOKEN;
  if (!expected) throw new Error("OUTPOST_ADMIN_TOKEN is not set on the Worker");
  const token = bearer(c.req.header("authorization"));
  if (!token) throw ApiError.unauthorized("missing platform admin token (OUTPOST_ADMIN_TOKEN)");
  if (!constantTimeEqual(await sha256Hex(token), await sha256Hex(expected))) {
    await audit(c.var.db, {
      tenantId: null,
      actor: "anonymous",
      action: `${c.req.method} ${c.req.path}`,
      outcome: "denied",
      details: { reason: "wrong platform admin token" },
    });
    throw ApiError.unauthorized("invalid platform admin token");
  }
  await next();
});
