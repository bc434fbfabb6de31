// Dashboard sign-in sessions: an API key, posted once to the sign-in form, is exchanged for a random
// session id that the browser keeps in an HttpOnly, SameSite=Strict cookie (Secure, and `__Host-`
// prefixed, where the origin is https). The database holds only its SHA-256 (dashboard_sessions); the
// key itself is never stored, nor written into a page. A session lives SESSION_TTL_MS at most, no
// longer than its key, ends when its key is revoked, and is revoked server-side at sign-out.
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { parse } from "hono/utils/cookie";
import { apiKeys, dashboardSessions } from "../../schema/db/tables.ts";
import { randomBase32 } from "../../schema/ids.ts";
import { sha256Hex } from "../auth/secrets.ts";
import type { Database } from "../db/database.ts";
import type { AppEnv, Caller } from "../env.ts";

/** Eight hours: a working day, after which the key is asked for again. */
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface DashboardCaller extends Caller {
  /** The session's CSRF token, written into forms and sent back by client scripts. */
  csrf: string;
  /** SHA-256 of the cookie's id: the row to revoke at sign-out. */
  sessionHash: string;
}

function secure(c: { req: { url: string } }): boolean {
  return new URL(c.req.url).protocol === "https:";
}

/** `__Host-` binds the cookie to this exact origin, but browsers accept it only when Secure. */
function cookieName(c: { req: { url: string } }): string {
  return secure(c) ? "__Host-outpost_session" : "outpost_session";
}

/** Starts a session for `caller` (a key just checked), sets its cookie, and returns it. */
export async function startSession(c: Context<AppEnv>, caller: Caller, keyExpiresAt: Date | null) {
  const id = randomBase32(32); // 160 bits
  const csrf = randomBase32(32);
  const ttlEnd = Date.now() + SESSION_TTL_MS;
  const expiresAt = new Date(Math.min(ttlEnd, keyExpiresAt?.getTime() ?? ttlEnd));
  await c.var.db.insert(dashboardSessions).values({
    hash: await sha256Hex(id),
    tenantId: caller.tenantId,
    keyId: caller.keyId,
    csrf,
    expiresAt,
  });
  setCookie(c, cookieName(c), id, {
    httpOnly: true,
    sameSite: "Strict",
    secure: secure(c),
    path: "/",
    expires: expiresAt,
  });
}

/**
 * The caller the request's session cookie stands for, or null (no cookie, unknown, expired, revoked,
 * or its key revoked or expired). Takes the context's parts so that any route's context will do.
 */
export async function sessionCaller(c: {
  req: { url: string; header(name: string): string | undefined };
  var: { db: Database };
}): Promise<DashboardCaller | null> {
  const name = cookieName(c);
  const id = parse(c.req.header("cookie") ?? "", name)[name];
  if (!id || !/^[0-9a-z]{32}$/.test(id)) return null;
  const hash = await sha256Hex(id);
  const now = new Date();
  // Looked up by the hash itself (the primary key): nothing secret is compared outside the index.
  const [row] = await c.var.db
    .select({ session: dashboardSessions, key: apiKeys })
    .from(dashboardSessions)
    .innerJoin(apiKeys, eq(apiKeys.id, dashboardSessions.keyId))
    .where(
      and(
        eq(dashboardSessions.hash, hash),
        isNull(dashboardSessions.revokedAt),
        gt(dashboardSessions.expiresAt, now),
        isNull(apiKeys.revokedAt),
      ),
    )
    .limit(1);
  if (!row) return null;
  if (row.key.expiresAt && row.key.expiresAt <= now) return null;
  return {
    tenantId: row.key.tenantId,
    keyId: row.key.id,
    role: row.key.role,
    actor: `key:${row.key.id}`,
    csrf: row.session.csrf,
    sessionHash: hash,
  };
}

/** Revokes the session server-side (its cookie is dead even if replayed) and clears the cookie. */
export async function endSession(c: Context<AppEnv>, caller: DashboardCaller): Promise<void> {
  await c.var.db
    .update(dashboardSessions)
    .set({ revokedAt: new Date() })
    .where(eq(dashboardSessions.hash, caller.sessionHash));
  deleteCookie(c, cookieName(c), { path: "/", secure: secure(c) });
}
