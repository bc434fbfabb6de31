// Bearer API keys: `Authorization: Bearer opk_<prefix>_<secret>`. The row is found by its public
// prefix and the hash compared in constant time; missing, malformed, wrong, revoked and expired keys
// are all 401. Wrong secrets are throttled (throttle.ts: 429 once an address or a key's prefix is over
// its allowance) and audited once per window; a revoked or expired key, which only its holder can
// present, is audited against its tenant at each refusal.
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { apiKeys } from "../../schema/db/tables.ts";
import { type ApiKeySecret, parseSecret } from "../../schema/ids.ts";
import { audit } from "../db/audit.ts";
import type { Database } from "../db/database.ts";
import type { AppEnv, Caller } from "../env.ts";
import { requestAction } from "../http/action-names.ts";
import { ApiError } from "../http/api-error.ts";
import { secretMatches } from "./secrets.ts";
import { AuthThrottle } from "./throttle.ts";

/** Writing last_used_at on every call would turn each read into a write; once a minute is plenty. */
const LAST_USED_GRANULARITY_MS = 60_000;

export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m ? m[1]! : null;
}

/**
 * The caller a bearer API key stands for, or ApiError 401 saying what is wrong with it. `action` names
 * what was asked, for the audit event of a refused key we know.
 */
export async function authenticate(
  c: Context<AppEnv>,
  token: string | null,
  action: string,
): Promise<Caller> {
  const { secret, prefix } = parseApiKey(token);
  const throttle = new AuthThrottle(c.env, c.req.raw.headers);
  const [key] = await keyQuery(c.var.db, prefix);
  return checkKey(c.var.db, secret, key, action, throttle);
}

/** A bearer API key and its lookup prefix, or ApiError 401 when there is none. */
export function parseApiKey(token: string | null): { secret: ApiKeySecret; prefix: string } {
  if (!token) throw ApiError.unauthorized("missing API key: send 'Authorization: Bearer opk_…'");
  const parsed = parseSecret("apiKey", token);
  if (!parsed) throw ApiError.unauthorized("malformed API key: expected 'opk_…'");
  return parsed;
}

/** The key row a prefix names (at most one): a query, to run alone or in a batch with others. */
export function keyQuery(db: Database, prefix: string) {
  return db.select().from(apiKeys).where(eq(apiKeys.prefix, prefix)).limit(1);
}

/**
 * The caller `key` (the row `token`'s prefix found, if any) stands for, once the token is shown to be
 * that key's, unrevoked and unexpired; ApiError 401 saying what is wrong otherwise, 429 when `throttle`
 * (made before the lookup, so that its question runs beside it) says to wait.
 */
export async function checkKey(
  db: Database,
  token: ApiKeySecret,
  key: typeof apiKeys.$inferSelect | undefined,
  action: string,
  throttle: AuthThrottle,
): Promise<Caller> {
  // Before the comparison: an address over its allowance learns nothing about the key it sent.
  await throttle.gate();
  if (!key || !(await secretMatches(token, key.hash))) {
    const attacked = key && {
      scope: "apiKey" as const,
      id: key.prefix,
      tenantId: key.tenantId,
      target: `key:${key.id}`,
      label: `API key opk_${key.prefix}_…`,
    };
    throw await throttle.failed(ApiError.unauthorized("invalid API key"), "wrong API key", action, attacked);
  }

  const now = Date.now();
  const refuse = async (why: string) => {
    await audit(db, {
      tenantId: key.tenantId,
      actor: `key:${key.id}`,
      action,
      outcome: "denied",
      details: { reason: why },
    });
    return ApiError.unauthorized(`API key ${key.id} is ${why}; create a new one with 'outpost keys create'`);
  };
  if (key.revokedAt) throw await refuse("revoked");
  if (key.expiresAt && key.expiresAt.getTime() <= now) throw await refuse("expired");

  if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, key.id));
  }
  return { tenantId: key.tenantId, keyId: key.id, role: key.role, actor: `key:${key.id}` };
}

export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  c.set("caller", await authenticate(c, token, requestAction(c)));
  await next();
});
