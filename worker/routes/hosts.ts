// Hosts of the caller's tenant: list with filters, get, revoke, delete.
import { and, asc, eq, isNotNull, isNull, or, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import {
  clusters,
  exposures,
  HOST_STATUSES,
  hosts,
  meshRoutes,
  services,
  sites,
} from "../../schema/db/tables.ts";
import { LABEL_KEY_PATTERN } from "../../schema/names.ts";
import { MAX_SELECTOR_LENGTH, matchesSelector } from "../../schema/selectors.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { resolveCluster, resolveHost } from "../db/resolve.ts";
import { disconnectHost, syncCluster } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { name, ref } from "../http/fields.ts";
import { selectorParam } from "../http/selector.ts";
import { valid } from "../http/validate.ts";

const listQuery = z.object({
  cluster: ref.optional(),
  site: name.optional(),
  /** A revoked host keeps its last status in the row; as a filter, `revoked` is its own status. */
  status: z
    .enum([...HOST_STATUSES, "revoked"], {
      error: `must be one of ${[...HOST_STATUSES, "revoked"].join(", ")}`,
    })
    .optional(),
  label: z
    .string()
    .regex(/^[^=]+=.*$/, { error: "must be key=value" })
    .refine((l) => LABEL_KEY_PATTERN.test(l.split("=")[0]!), { error: "label key is not a valid label name" })
    .optional(),
  /** A label selector (schema/selectors.ts): `role=web,zone in (a,b),!spot`. */
  selector: z.string().max(MAX_SELECTOR_LENGTH).optional(),
});

const hostView = { host: hosts, cluster: clusters.name, site: sites.name };

function present(r: { host: typeof hosts.$inferSelect; cluster: string; site: string }) {
  return { ...r.host, cluster: r.cluster, site: r.site, fqdn: `${r.host.name}.${r.cluster}` };
}

export const hostRoutes = new Hono<AppEnv>()
  .get("/", valid("query", listQuery), async (c) => {
    const q = c.req.valid("query");
    const selector = selectorParam(q.selector);
    const tenantId = c.var.caller.tenantId;
    const where: SQL[] = [eq(hosts.tenantId, tenantId)];
    if (q.cluster) where.push(eq(hosts.clusterId, (await resolveCluster(c.var.db, tenantId, q.cluster)).id));
    if (q.site) where.push(eq(sites.name, q.site));
    if (q.status === "revoked") where.push(isNotNull(hosts.revokedAt));
    else if (q.status) where.push(eq(hosts.status, q.status), isNull(hosts.revokedAt));
    if (q.label) {
      const [k, ...v] = q.label.split("=");
      where.push(sql`json_extract(${hosts.labels}, ${`$."${k}"`}) = ${v.join("=")}`);
    }
    const rows = await c.var.db
      .select(hostView)
      .from(hosts)
      .innerJoin(clusters, eq(hosts.clusterId, clusters.id))
      .innerJoin(sites, eq(hosts.siteId, sites.id))
      .where(and(...where))
      .orderBy(asc(clusters.name), asc(hosts.name));
    return c.json({
      hosts: rows.filter((r) => matchesSelector(selector, r.host.labels)).map(present),
    });
  })
  .get("/:host", async (c) => {
    const host = await resolveHost(c.var.db, c.var.caller.tenantId, c.req.param("host"));
    const [row] = await c.var.db
      .select(hostView)
      .from(hosts)
      .innerJoin(clusters, eq(hosts.clusterId, clusters.id))
      .innerJoin(sites, eq(hosts.siteId, sites.id))
      .where(eq(hosts.id, host.id));
    if (!row) throw ApiError.notFound(`host '${c.req.param("host")}'`);
    return c.json({ host: present(row) });
  })
  .post("/:host/revoke", requireRole("admin"), async (c) => {
    const caller = c.var.caller;
    const host = await resolveHost(c.var.db, caller.tenantId, c.req.param("host"));
    if (host.revokedAt) throw ApiError.conflict(`host '${host.name}' is already revoked`);
    const [row] = await c.var.db
      .update(hosts)
      .set({ revokedAt: new Date(), status: "offline" })
      .where(eq(hosts.id, host.id))
      .returning();
    await disconnectHost(c.env, host.id, "revoked");
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "host.revoke",
      target: host.id,
      outcome: "allowed",
      details: { name: host.name },
    });
    return c.json({ host: row! });
  })
  .delete("/:host", requireRole("admin"), async (c) => {
    const caller = c.var.caller;
    const host = await resolveHost(c.var.db, caller.tenantId, c.req.param("host"));
    const db = c.var.db;
    // The host's services and exposures, and every mesh route that starts or ends at it, go with it.
    await db.batch([
      db.delete(services).where(eq(services.hostId, host.id)),
      db.delete(exposures).where(eq(exposures.hostId, host.id)),
      db.delete(meshRoutes).where(or(eq(meshRoutes.fromHostId, host.id), eq(meshRoutes.toHostId, host.id))),
      db.delete(hosts).where(eq(hosts.id, host.id)),
    ]);
    await disconnectHost(c.env, host.id, "deleted");
    await syncCluster(c.env, host.clusterId);
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "host.delete",
      target: host.id,
      outcome: "allowed",
      details: { name: host.name },
    });
    return c.json({ host });
  });
