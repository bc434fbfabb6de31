// HTTP exposures: `outpost expose web01.prod:web --name shop` serves the host's `web` service on an
// origin of its own, `https://shop.<EXPOSURE_DOMAIN>/` (and at --hostname, inside a domain granted to
// the tenant, when set). Access takes an API key of the tenant or a signed, expiring link (`outpost
// expose link shop --ttl 1h`); public exposures, which open a host's service to anyone, need the
// admin role. The serving side is routes/gateway.ts.
import { and, asc, eq, inArray } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { clusters, type Exposure, exposures, hosts, tenantDomains } from "../../schema/db/tables.ts";
import { newId, randomBase32, type TenantId } from "../../schema/ids.ts";
import { TARGET_PATTERN } from "../../schema/names.ts";
import { RANK, requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { type Database, isUniqueViolation } from "../db/database.ts";
import { resolveHost } from "../db/resolve.ts";
import type { AppEnv } from "../env.ts";
import { LINK_PARAM, MAX_LINK_TTL_S, signLink } from "../expose/links.ts";
import {
  EXPOSURE_NAME,
  exposureDomain,
  grantCandidates,
  hostnameField,
  originUrl,
  reservedExposureName,
  reservedReason,
} from "../expose/origins.ts";
import { ApiError } from "../http/api-error.ts";
import { duration } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

const createExposure = z.object({
  host: z.string().max(200),
  service: z
    .string()
    .regex(TARGET_PATTERN, { error: "must be a service name or a port number 1-65535" })
    .refine((t) => !/^\d+$/.test(t) || Number(t) <= 65535, { error: "port must be 1-65535" }),
  name: z
    .string()
    .regex(EXPOSURE_NAME, { error: "must be a DNS label: 1-63 of a-z 0-9 - (not at the ends)" }),
  hostname: hostnameField.optional(),
  public: z.boolean().optional(),
});

const createLink = z.object({
  ttl: duration(60_000, MAX_LINK_TTL_S * 1000, "between 1m and 30d"),
});

/** Where an exposure is served: on its own origin under the exposure domain, and at its hostname if set. */
function urls(c: Context<AppEnv>, e: Exposure) {
  const domain = exposureDomain(c.env);
  if (!domain) throw new Error("EXPOSURE_DOMAIN is not set on the Worker (wrangler.toml [vars])");
  return {
    url: originUrl(c.env, c.req.url, `${e.name}.${domain}`),
    ...(e.hostname ? { hostnameUrl: originUrl(c.env, c.req.url, e.hostname) } : {}),
  };
}

/**
 * Why a custom hostname is refused, if it is: it must lie within a domain the platform admin granted
 * to the tenant and be none of the control plane's names, so no tenant names a hostname it was not given.
 */
async function hostnameRefusal(
  c: Context<AppEnv>,
  db: Database,
  tenantId: TenantId,
  hostname: string,
): Promise<string | undefined> {
  const reserved = reservedReason(c.env, hostname);
  if (reserved) return `${reserved}: no exposure may take it`;
  const [grant] = await db
    .select({ domain: tenantDomains.domain })
    .from(tenantDomains)
    .where(
      and(eq(tenantDomains.tenantId, tenantId), inArray(tenantDomains.domain, grantCandidates(hostname))),
    )
    .limit(1);
  if (grant && c.env.PUBLIC_URL) return undefined;
  return `hostname '${hostname}' is not within a domain granted to this tenant: ask the platform admin for 'outpost tenant domain add <tenant> <domain>'`;
}

/** The exposure without its link salt (not secret, but nobody's business), with its URLs. */
function view(c: Context<AppEnv>, e: Exposure) {
  const { linkSalt: _salt, ...rest } = e;
  return { ...rest, ...urls(c, e) };
}

async function findExposure(c: Context<AppEnv>, name: string): Promise<Exposure> {
  const [row] = await c.var.db
    .select()
    .from(exposures)
    .where(and(eq(exposures.tenantId, c.var.caller.tenantId), eq(exposures.name, name)))
    .limit(1);
  if (!row) throw ApiError.notFound(`exposure '${name}'`);
  return row;
}

export const exposureRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const rows = await c.var.db
      .select({ exposure: exposures, hostName: hosts.name, cluster: clusters.name })
      .from(exposures)
      .innerJoin(hosts, eq(hosts.id, exposures.hostId))
      .innerJoin(clusters, eq(clusters.id, hosts.clusterId))
      .where(eq(exposures.tenantId, c.var.caller.tenantId))
      .orderBy(asc(exposures.name));
    return c.json({
      exposures: rows.map((r) => ({
        ...view(c, r.exposure),
        hostName: r.hostName,
        host: `${r.hostName}.${r.cluster}`,
      })),
    });
  })
  .post("/", requireRole("operator"), valid("json", createExposure), async (c) => {
    const caller = c.var.caller;
    const body = c.req.valid("json");
    if (body.public && RANK[caller.role] < RANK.admin) {
      await audit(c.var.db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "expose.create",
        target: body.name,
        outcome: "denied",
        details: { reason: "public exposure needs admin" },
      });
      throw ApiError.forbidden(
        "a public exposure opens the service to anyone: it needs the admin role; without --public, callers need an API key or a signed link",
      );
    }
    const reservedName = reservedExposureName(c.env, body.name);
    if (reservedName) throw ApiError.forbidden(reservedName);
    const refusal = body.hostname && (await hostnameRefusal(c, c.var.db, caller.tenantId, body.hostname));
    if (refusal) {
      await audit(c.var.db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "expose.create",
        target: body.name,
        outcome: "denied",
        details: { reason: refusal },
      });
      throw ApiError.forbidden(refusal);
    }
    const host = await resolveHost(c.var.db, caller.tenantId, body.host);
    if (host.revokedAt) throw ApiError.conflict(`host '${host.name}' is revoked`);
    const row: Exposure = {
      id: newId("exposure"),
      tenantId: caller.tenantId,
      hostId: host.id,
      service: body.service,
      name: body.name,
      hostname: body.hostname ?? null,
      access: body.public ? "public" : "key",
      linkSalt: randomBase32(16),
      createdBy: caller.actor,
      createdAt: new Date(),
    };
    try {
      await c.var.db.insert(exposures).values(row);
    } catch (err) {
      if (isUniqueViolation(err)) {
        const what = `${(err as Error).cause ?? ""} ${err}`.includes("exposures.hostname")
          ? `hostname '${body.hostname}'`
          : `name '${body.name}'`;
        throw ApiError.conflict(
          `the exposure ${what} is taken: names and hostnames are global; choose another`,
        );
      }
      throw err;
    }
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "expose.create",
      target: row.id,
      outcome: "allowed",
      details: {
        host: host.id,
        service: row.service,
        name: row.name,
        hostname: row.hostname,
        access: row.access,
      },
    });
    return c.json({ exposure: view(c, row) }, 201);
  })
  .delete("/:name", requireRole("operator"), async (c) => {
    const caller = c.var.caller;
    const [row] = await c.var.db
      .delete(exposures)
      .where(and(eq(exposures.tenantId, caller.tenantId), eq(exposures.name, c.req.param("name"))))
      .returning();
    if (!row) throw ApiError.notFound(`exposure '${c.req.param("name")}'`);
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "expose.remove",
      target: row.id,
      outcome: "allowed",
    });
    return c.json({ exposure: view(c, row) });
  })
  .post("/:name/links", requireRole("operator"), valid("json", createLink), async (c) => {
    const caller = c.var.caller;
    const row = await findExposure(c, c.req.param("name"));
    const expires = Math.floor((Date.now() + c.req.valid("json").ttl) / 1000);
    const token = await signLink(c.env, row, expires);
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "expose.link",
      target: row.id,
      outcome: "allowed",
      details: { expiresAt: expires * 1000 },
    });
    const { url } = urls(c, row);
    // ISO 8601, as every time the API returns.
    return c.json(
      { url: `${url}?${LINK_PARAM}=${token}`, expiresAt: new Date(expires * 1000).toISOString() },
      201,
    );
  })
  .delete("/:name/links", requireRole("operator"), async (c) => {
    const caller = c.var.caller;
    const row = await findExposure(c, c.req.param("name"));
    await c.var.db
      .update(exposures)
      .set({ linkSalt: randomBase32(16) })
      .where(and(eq(exposures.id, row.id), eq(exposures.tenantId, caller.tenantId)));
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "expose.revoke_links",
      target: row.id,
      outcome: "allowed",
    });
    return c.json({ revoked: true });
  });
