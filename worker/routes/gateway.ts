// Serving exposures: a request to an exposure's own origin (`<name>.<EXPOSURE_DOMAIN>`, or its custom
// hostname while a domain holding it is granted to its tenant; expose/origins.ts) is checked (the
// tenant's API key, a signed link, or nothing for public ones) and proxied to the host's service
// (expose/proxy.ts). The control plane's own origin serves no exposure. Bodies stream, so this runs
// before the API's body limit.
import { and, eq, inArray } from "drizzle-orm";
import type { Context } from "hono";
import { type Exposure, exposures, hosts, tenantDomains } from "../../schema/db/tables.ts";
import { authenticate, bearer } from "../auth/api-key.ts";
import { checkLink } from "../auth/link-check.ts";
import type { Database } from "../db/database.ts";
import type { AppEnv, Bindings } from "../env.ts";
import { cookieValue } from "../expose/cookies.ts";
import { LINK_COOKIE, LINK_PARAM } from "../expose/links.ts";
import {
  EXPOSURE_NAME,
  exposureDomain,
  grantCandidates,
  originUrl,
  type RequestOrigin,
  reservedReason,
} from "../expose/origins.ts";
import { type Identity, proxy } from "../expose/proxy.ts";
import { visitorBadGateway, visitorPage } from "../expose/visitor-page.ts";
import { ApiError } from "../http/api-error.ts";

type Found = { exposure: Exposure; hostName: string; hostRevoked: boolean };
type ExposureOrigin = Exclude<RequestOrigin, { kind: "api" }>;

const found = (row: { exposure: Exposure; hostName: string; revokedAt: Date | null }): Found => ({
  exposure: row.exposure,
  hostName: row.hostName,
  hostRevoked: row.revokedAt !== null,
});

async function lookup(env: Bindings, db: Database, origin: ExposureOrigin): Promise<Found | undefined> {
  const columns = { exposure: exposures, hostName: hosts.name, revokedAt: hosts.revokedAt };
  if (origin.kind === "named") {
    const [row] = await db
      .select(columns)
      .from(exposures)
      .innerJoin(hosts, eq(hosts.id, exposures.hostId))
      .where(eq(exposures.name, origin.name))
      .limit(1);
    return row && found(row);
  }
  // Defence in depth: a custom hostname is the exposure's only while a domain holding it is granted
  // to the exposure's tenant now, and that grant is not (or no longer) a reserved name.
  const rows = await db
    .select({ ...columns, domain: tenantDomains.domain })
    .from(exposures)
    .innerJoin(hosts, eq(hosts.id, exposures.hostId))
    .innerJoin(
      tenantDomains,
      and(
        eq(tenantDomains.tenantId, exposures.tenantId),
        inArray(tenantDomains.domain, grantCandidates(origin.hostname)),
      ),
    )
    .where(eq(exposures.hostname, origin.hostname));
  const row = rows.find((r) => !reservedReason(env, r.domain));
  return row && found(row);
}

/**
 * The exposure a request's origin names, read from the database on every request. No copy is kept
 * between requests (DESIGN: no module-level state): a cache per isolate let a revoked link, a removed
 * exposure or a revoked host keep working for seconds in every other isolate.
 */
async function find(env: Bindings, db: Database, origin: ExposureOrigin): Promise<Found | undefined> {
  // Only a DNS label names an exposure (`a.b.<domain>` is nobody's); hostnames are checked already.
  if (origin.kind === "named" && !EXPOSURE_NAME.test(origin.name)) return undefined;
  return lookup(env, db, origin);
}

/**
 * Serves a request to an exposure's origin. An unknown name under the exposure domain is a 404 there,
 * never the API; a custom hostname that is nobody's (or whose grant is gone) is left to the API.
 */
export async function serveOrigin(c: Context<AppEnv>, origin: ExposureOrigin): Promise<Response | undefined> {
  const result = await find(c.env, c.var.db, origin);
  try {
    if (result) return await serve(c, result);
    if (origin.kind === "named") throw ApiError.notFound(`exposure '${origin.name}'`);
  } catch (err) {
    // A browser gets a page saying what is needed (expose/visitor-page.ts); programs the JSON error.
    const page = err instanceof ApiError && visitorPage(c.req.raw, err, result?.exposure.name);
    if (page) return page;
    throw err;
  }
  return undefined;
}

/**
 * `/x/<name>/…` on the control plane's origin, where exposures were once served: no tenant content,
 * only where the exposure is now. A 404 rather than a redirect, so that old URLs fail once with the
 * new address instead of quietly keeping the API's origin in use (and no table is read for it).
 */
export function notOnApiOrigin(c: Context<AppEnv>): never {
  const name = c.req.param("name") ?? "";
  const domain = exposureDomain(c.env);
  const where =
    domain && EXPOSURE_NAME.test(name)
      ? `: '${name}' is served at ${originUrl(c.env, c.req.url, `${name}.${domain}`)}`
      : "";
  throw new ApiError(
    404,
    "not_found",
    `exposures are served on origins of their own, not on the control plane's${where} ('outpost expose ls' lists the URLs)`,
  );
}

async function serve(c: Context<AppEnv>, found: Found): Promise<Response> {
  const { exposure } = found;
  const { identity, cookie } = await admit(c, exposure);
  try {
    if (found.hostRevoked) throw new ApiError(502, "host_revoked", `host '${found.hostName}' is revoked`);
    return await _proxy(c, found, identity, cookie);
  } catch (err) {
    // Only the tenant's key holders hear which host or service failed and why (the agent's refusal
    // lists the host's service names); link and public visitors get a generic 502.
    if (err instanceof ApiError && err.status === 502 && identity.kind !== "key")
      throw visitorBadGateway(err);
    throw err;
  }
}

function _proxy(c: Context<AppEnv>, found: Found, identity: Identity, cookie: string | undefined) {
  const { exposure } = found;
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
    // On its own origin the service's paths are the request's, exactly as sent.
    prefix: "",
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    ...(cookie ? { setCookie: cookie } : {}),
  });
}

/**
 * Who may come in, and the cookie that keeps a link's holder in for the link's lifetime. An Outpost
 * API key is checked even on a public exposure: the proxy takes a key identity's Authorization off,
 * and any other key is refused, so no tenant's key ever reaches a service.
 */
async function admit(
  c: Context<AppEnv>,
  exposure: Exposure,
): Promise<{ identity: Identity; cookie?: string }> {
  const token = bearer(c.req.header("authorization"));
  if (token?.startsWith("opk_")) {
    const caller = await authenticate(c, token, `expose ${exposure.name}`);
    if (caller.tenantId !== exposure.tenantId)
      throw ApiError.forbidden(`this API key is not valid for exposure '${exposure.name}'`);
    return { identity: { kind: "key", keyId: caller.keyId, tenantId: caller.tenantId, role: caller.role } };
  }
  if (exposure.access === "public") return { identity: { kind: "public" } };
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
    // Host-only (no Domain), for the whole of the exposure's own origin and nothing else.
    const secure = new URL(c.req.url).protocol === "https:" ? "; Secure" : "";
    const cookie = fromQuery
      ? `${LINK_COOKIE}=${link}; Path=/; Max-Age=${left}; HttpOnly; SameSite=Lax${secure}`
      : undefined;
    return { identity: { kind: "link", exposureId: exposure.id }, ...(cookie ? { cookie } : {}) };
  }
  throw ApiError.unauthorized(
    `exposure '${exposure.name}' needs an API key of its tenant ('Authorization: Bearer opk_…') or a signed link ('outpost expose link ${exposure.name}')`,
  );
}
