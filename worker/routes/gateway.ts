// Serving exposures: requests to /x/<name>/… (or to an exposure's own hostname) are checked — the
// tenant's API key, a signed link, or nothing for public ones — and proxied to the host's service
// (expose/proxy.ts). Bodies stream, so these routes sit before the API's body limit.
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { type Exposure, exposures, hosts } from "../../schema/db/tables.ts";
import { authenticate, bearer } from "../auth/api-key.ts";
import { checkLink } from "../auth/link-check.ts";
import type { AppEnv } from "../env.ts";
import { LINK_COOKIE, LINK_PARAM } from "../expose/links.ts";
import { type Identity, proxy } from "../expose/proxy.ts";
import { ApiError } from "../http/api-error.ts";
import type { Database } from "../lib/db.ts";

type Found = { exposure: Exposure; hostName: string; hostRevoked: boolean };

async function lookup(db: Database, by: "name" | "hostname", value: string): Promise<Found | undefined> {
  const [row] = await db
    .select({ exposure: exposures, hostName: hosts.name, revokedAt: hosts.revokedAt })
    .from(exposures)
    .innerJoin(hosts, eq(hosts.id, exposures.hostId))
    .where(eq(by === "name" ? exposures.name : exposures.hostname, value))
    .limit(1);
  return row && { exposure: row.exposure, hostName: row.hostName, hostRevoked: row.revokedAt !== null };
}

// Exposures as requests find them, by name (/x/<name>/…) or by hostname, per isolate: every request
// to an exposure looks its row up, and the API's own host is asked about on every request, so answers
// (none included) are kept for a few seconds. What this isolate changes it forgets at once; other
// isolates see a change, a removal or revoked links included, within EXPOSURE_TTL_MS.
const EXPOSURE_TTL_MS = 5_000;
/** No exposure's name or hostname is longer (a DNS name); a longer one is looked up nowhere, nor kept. */
const MAX_LOOKUP = 253;
const known = new Map<string, { found: Found | undefined; at: number }>();
/** Moves on at every forget: a lookup that was under way meanwhile may have read the old row. */
let generation = 0;

async function find(db: Database, by: "name" | "hostname", value: string): Promise<Found | undefined> {
  if (value.length > MAX_LOOKUP) return undefined;
  const key = `${by} ${value}`;
  const cached = known.get(key);
  if (cached && Date.now() - cached.at < EXPOSURE_TTL_MS) return cached.found;
  const before = generation;
  const found = await lookup(db, by, value);
  if (known.size > 10_000) known.clear();
  if (generation === before) known.set(key, { found, at: Date.now() });
  return found;
}

/** The exposure was created, removed or had its links revoked: the next request reads its row. */
export function forgetExposure(exposure: Pick<Exposure, "name" | "hostname">): void {
  generation += 1;
  known.delete(`name ${exposure.name}`);
  if (exposure.hostname) known.delete(`hostname ${exposure.hostname}`);
}

/** The host was revoked or deleted: requests to its exposures read their rows again. */
export function forgetHostExposures(hostId: string): void {
  generation += 1;
  for (const [key, { found }] of known) if (found?.exposure.hostId === hostId) known.delete(key);
}

/** The exposure served at the request's Host, if any. IP literals and localhost are the API's. */
export async function exposureAtHost(
  db: Database,
  hostHeader: string | undefined,
): Promise<Found | undefined> {
  const host = (hostHeader ?? "").toLowerCase().replace(/:\d+$/, "");
  if (!host.includes(".") || /^[\d.]+$/.test(host) || host.startsWith("[")) return undefined;
  return find(db, "hostname", host);
}

export async function serveByName(c: Context<AppEnv>): Promise<Response> {
  const name = c.req.param("name")!;
  const prefix = `/x/${name}`;
  const url = new URL(c.req.url);
  if (url.pathname === prefix && ["GET", "HEAD"].includes(c.req.method)) {
    // Relative links in the app resolve under the prefix only with the trailing slash.
    return c.redirect(`${prefix}/${url.search}`, 308);
  }
  const found = await find(c.var.db, "name", name);
  if (!found) throw ApiError.notFound(`exposure '${name}'`);
  return serve(c, found, prefix);
}

export async function serve(c: Context<AppEnv>, found: Found, prefix: string): Promise<Response> {
  const { exposure } = found;
  const { identity, cookie } = await admit(c, exposure, prefix);
  if (found.hostRevoked) throw new ApiError(502, "host_revoked", `host '${found.hostName}' is revoked`);
  const actor = identity.kind === "key" ? `key:${identity.keyId}` : `${identity.kind}:${exposure.name}`;
  return proxy(c.req.raw, {
    env: c.env,
    stream: {
      hostId: exposure.hostId,
      hostName: found.hostName,
      target: exposure.service,
      tenantId: exposure.tenantId,
      actor,
    },
    identity,
    prefix,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    ...(cookie ? { setCookie: cookie } : {}),
  });
}

/** Who may come in, and the cookie that keeps a link's holder in for the link's lifetime. */
async function admit(
  c: Context<AppEnv>,
  exposure: Exposure,
  prefix: string,
): Promise<{ identity: Identity; cookie?: string }> {
  if (exposure.access === "public") return { identity: { kind: "public" } };
  const token = bearer(c.req.header("authorization"));
  if (token?.startsWith("opk_")) {
    const caller = await authenticate(c, token, `expose ${exposure.name}`);
    if (caller.tenantId !== exposure.tenantId)
      throw ApiError.forbidden(`this API key is not valid for exposure '${exposure.name}'`);
    return { identity: { kind: "key", keyId: caller.keyId, tenantId: caller.tenantId, role: caller.role } };
  }
  const fromQuery = new URL(c.req.url).searchParams.get(LINK_PARAM);
  const link = fromQuery ?? cookieValue(c.req.header("cookie"), LINK_COOKIE);
  if (link) {
    const left = await checkLink(
      c,
      exposure,
      link,
      ApiError.unauthorized(
        `this link to '${exposure.name}' is expired, revoked or not genuine; ask for a new one ('outpost expose link ${exposure.name}')`,
      ),
    );
    const secure = new URL(c.req.url).protocol === "https:" ? "; Secure" : "";
    const cookie = fromQuery
      ? `${LINK_COOKIE}=${link}; Path=${prefix || "/"}; Max-Age=${left}; HttpOnly; SameSite=Lax${secure}`
      : undefined;
    return { identity: { kind: "link", exposureId: exposure.id }, ...(cookie ? { cookie } : {}) };
  }
  throw ApiError.unauthorized(
    `exposure '${exposure.name}' needs an API key of its tenant ('Authorization: Bearer opk_…') or a signed link ('outpost expose link ${exposure.name}')`,
  );
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}
