// The platform admin token (Worker secret OUTPOST_ADMIN_TOKEN) creates tenants. Compared through
// hashes in constant time, so neither its length nor its content leaks through timing. Wrong tokens
// are throttled per address (throttle.ts) and audited once per address and window, not per attempt.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { requestAction } from "../http/action-names.ts";
import { ApiError } from "../http/api-error.ts";
import { bearer } from "./api-key.ts";
import { constantTimeEqual, sha256Hex } from "./secrets.ts";
import { AuthThrottle } from "./throttle.ts";

export const platformAdminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.OUTPOST_ADMIN_TOKEN;
  if (!expected) throw new Error("OUTPOST_ADMIN_TOKEN is not set on the Worker");
  const token = bearer(c.req.header("authorization"));
  if (!token) throw ApiError.unauthorized("missing platform admin token (OUTPOST_ADMIN_TOKEN)");
  const throttle = new AuthThrottle(c.env, c.req.raw.headers);
  await throttle.gate();
  if (!constantTimeEqual(await sha256Hex(token), await sha256Hex(expected))) {
    throw await throttle.failed(
      ApiError.unauthorized("invalid platform admin token"),
      "wrong platform admin token",
      requestAction(c),
    );
  }
  await next();
});
