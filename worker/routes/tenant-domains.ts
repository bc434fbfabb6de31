// Platform admin: the domains granted to tenants. An exposure may take a custom hostname only inside
// one of its tenant's domains, so no tenant can name a hostname it was not given (the control plane's,
// or another tenant's). Like a custom hostname on Cloudflare or a certificate on Fly, a grant in use
// is not removed from under its exposures unless asked to (`force`), which takes the hostname off them.
import { and, asc, eq, inArray, like, or } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { exposures, tenantDomains, tenants } from "../../schema/db/tables.ts";
import { platformAdminAuth } from "../auth/platform-admin.ts";
import { audit } from "../db/audit.ts";
import { type Database, isUniqueViolation } from "../db/database.ts";
import type { AppEnv } from "../env.ts";
import { grantCandidates, hostnameField, reservedReason } from "../expose/origins.ts";
import { ApiError } from "../http/api-error.ts";
import { name } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

async function tenantNamed(db: Database, tenant: string) {
  const [row] = await db.select().from(tenants).where(eq(tenants.name, tenant)).limit(1);
  if (!row) throw ApiError.notFound(`tenant '${tenant}'`);
  return row;
}

/** Grants and exposure hostnames within `domain` (the domain or names under it). */
const under = (column: typeof tenantDomains.domain | typeof exposures.hostname, domain: string) =>
  or(eq(column, domain), like(column, `%.${domain}`));

export const tenantDomainRoutes = new Hono<AppEnv>()
  .use(platformAdminAuth)
  .get("/", valid("query", z.object({ tenant: name.optional() })), async (c) => {
    const { tenant } = c.req.valid("query");
    const owner = tenant ? await tenantNamed(c.var.db, tenant) : undefined;
    const rows = await c.var.db
      .select({ domain: tenantDomains.domain, tenant: tenants.name, createdAt: tenantDomains.createdAt })
      .from(tenantDomains)
      .innerJoin(tenants, eq(tenants.id, tenantDomains.tenantId))
      .where(owner ? eq(tenantDomains.tenantId, owner.id) : undefined)
      .orderBy(asc(tenants.name), asc(tenantDomains.domain));
    return c.json({ domains: rows });
  })
  .post("/", valid("json", z.object({ tenant: name, domain: hostnameField })), async (c) => {
    const { tenant, domain } = c.req.valid("json");
    const db = c.var.db;
    if (!c.env.PUBLIC_URL)
      throw new ApiError(
        409,
        "public_url_unset",
        "the control plane does not know its own hostname: set PUBLIC_URL on the Worker before granting domains",
      );
    const reserved = reservedReason(c.env, domain);
    if (reserved) throw ApiError.forbidden(`${reserved}: it cannot be granted to a tenant`);
    const owner = await tenantNamed(db, tenant);
    // Nested grants of two tenants would let one take hostnames of the other.
    const overlaps = await db
      .select({ domain: tenantDomains.domain, tenant: tenants.name })
      .from(tenantDomains)
      .innerJoin(tenants, eq(tenants.id, tenantDomains.tenantId))
      .where(or(inArray(tenantDomains.domain, grantCandidates(domain)), under(tenantDomains.domain, domain)));
    const clash = overlaps.find((o) => o.domain === domain || o.tenant !== tenant);
    if (clash)
      throw ApiError.conflict(
        clash.domain === domain
          ? `'${domain}' is already granted to tenant '${clash.tenant}'`
          : `'${domain}' overlaps '${clash.domain}', granted to tenant '${clash.tenant}'; remove that grant first`,
      );
    const row = { domain, tenantId: owner.id, createdAt: new Date() };
    try {
      await db.insert(tenantDomains).values(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw ApiError.conflict(`'${domain}' is already granted`);
      throw err;
    }
    await audit(db, {
      tenantId: owner.id,
      actor: "platform",
      action: "tenant.domain.add",
      target: domain,
      outcome: "allowed",
    });
    return c.json({ domain: { domain, tenant: owner.name, createdAt: row.createdAt } }, 201);
  })
  .delete(
    "/:domain",
    valid("query", z.object({ tenant: name, force: z.enum(["true", "false"]).optional() })),
    async (c) => {
      const domain = c.req.param("domain").toLowerCase();
      const { tenant, force } = c.req.valid("query");
      const db = c.var.db;
      const owner = await tenantNamed(db, tenant);
      const [grant] = await db
        .select()
        .from(tenantDomains)
        .where(and(eq(tenantDomains.domain, domain), eq(tenantDomains.tenantId, owner.id)))
        .limit(1);
      if (!grant) throw ApiError.notFound(`domain '${domain}' of tenant '${tenant}'`);
      const using = await db
        .select({ id: exposures.id, name: exposures.name, hostname: exposures.hostname })
        .from(exposures)
        .where(and(eq(exposures.tenantId, owner.id), under(exposures.hostname, domain)));
      if (using.length && force !== "true")
        throw ApiError.conflict(
          `domain '${domain}' is the hostname's domain of exposure(s) ${using.map((e) => `'${e.name}'`).join(", ")}: the tenant removes them first ('outpost expose rm'), or --force takes the hostname off them`,
        );
      const removeGrant = db.delete(tenantDomains).where(eq(tenantDomains.domain, domain));
      if (using.length) {
        const ids = using.map((e) => e.id);
        const unset = db
          .update(exposures)
          .set({ hostname: null })
          .where(and(eq(exposures.tenantId, owner.id), inArray(exposures.id, ids)));
        await db.batch([unset, removeGrant]);
      } else await removeGrant;
      await audit(db, {
        tenantId: owner.id,
        actor: "platform",
        action: "tenant.domain.remove",
        target: domain,
        outcome: "allowed",
        details: { hostnamesRemoved: using.map((e) => e.hostname) },
      });
      return c.json({
        removed: { domain, tenant: owner.name },
        hostnamesRemoved: using.map((e) => e.hostname),
      });
    },
  );
