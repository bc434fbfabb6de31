// Serving exposures: requests to /x/<name>/… (or to an exposure's own hostname) are checked — the
// tenant's API key, a signed link, or nothing for public ones — and proxied to the host's service
// (expose/proxy.ts). Bodies stream, so these routes sit before the API's body limit.
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { type Exposure, exposures, hosts } from "../../schema/db/tables.ts";
import { authenticate, bearer } from "../auth/api-key.ts";
import type { AppEnv } from "../env.ts";
import { LINK_COOKIE, LINK_PARAM, verifyLink } from "../expose/links.ts";
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

// Which hostnames are exposures, per isolate: the API's own host is asked about on every request, so
// answers are kept for a few seconds (other isolates see a new or removed hostname within that time).
const HOSTNAME_TTL_MS = 5_000;
const hostnames = new Map<string, { found: Found | undefined; at: number }>();

export function forgetHostname(hostname: string): void {
  hostnames.delete(hostname);
}

/** The exposure served at the request's Host, if any. IP literals and localhost are the API's. */
export async function exposureAtHost(
  db: Database,
  hostHeader: string | undefined,
): Promise<Found | undefined> {
  const host = (hostHeader ?? "").toLowerCase().replace(/:\d+$/, "");
  if (!host.includes(".") || /^[\d.]+$/.test(host) || host.startsWith("[")) return undefined;
  const cached = hostnames.get(host);
  if (cached && Date.now() - cached.at < HOSTNAME_TTL_MS) return cached.found;
  const found = await lookup(db, "hostname", host);
  if (hostnames.size > 10_000) hostnames.clear();
  hostnames.set(host, { found, at: Date.now() });
  return found;
}

export async function serveByName(c: Context<AppEnv>): Promise<Response> {
  const name = c.req.param("name")!;
  const prefix = `/x/${name}`;
  const url = new URL(c.req.url);
  if (url.pathname === prefix && ["GET", "HEAD"].includes(c.req.method)) {
    // Relative links in the app resolve under the prefix only with the trailing slash.
    return c.redirect(`${prefix}/${url.search}`, 308);
  }
  const found = await lookup(c.var.db, "name", name);
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
    const caller = await authenticate(c.var.db, token, `expose ${exposure.name}`);
    if (caller.tenantId !== exposure.tenantId)
      throw ApiError.forbidden(`this API key is not valid for exposure '${exposure.name}'`);
    return { identity: { kind: "key", keyId: caller.keyId, tenantId: caller.tenantId, role: caller.role } };
  }
  const fromQuery = new URL(c.req.url).searchParams.get(LINK_PARAM);
  const link = fromQuery ?? cookieValue(c.req.header("cookie"), LINK_COOKIE);
  if (link) {
    const left = await verifyLink(c.env, exposure, link);
    if (left === null) {
      throw ApiError.unauthorized(
        `this link to '${exposure.name}' is expired, revoked or not genuine; ask for a new one ('outpost expose link ${exposure.name}')`,
      );
    }
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
