// Clusters and, nested under them, sites. Reads for every role; changes for admins.
import { and, asc, count, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { clusters, enrollmentTokens, hosts, sites } from "../../schema/db/tables.ts";
import { newId } from "../../schema/ids.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { isUniqueViolation } from "../db/database.ts";
import { resolveCluster, resolveSite } from "../db/resolve.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { name } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

const admin = requireRole("admin");

export const clusterRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const rows = await c.var.db
      .select()
      .from(clusters)
      .where(eq(clusters.tenantId, c.var.caller.tenantId))
      .orderBy(asc(clusters.name));
    return c.json({ clusters: rows });
  })
  .post("/", admin, valid("json", z.object({ name })), async (c) => {
    const { name } = c.req.valid("json");
    const caller = c.var.caller;
    const row = { id: newId("cluster"), tenantId: caller.tenantId, name };
    try {
      await c.var.db.insert(clusters).values(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw ApiError.conflict(`cluster '${name}' already exists`);
      throw err;
    }
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "cluster.create",
      target: row.id,
      outcome: "allowed",
      details: { name },
    });
    return c.json({ cluster: row }, 201);
  })
  .get("/:cluster", async (c) => {
    const cluster = await resolveCluster(c.var.db, c.var.caller.tenantId, c.req.param("cluster"));
    return c.json({ cluster });
  })
  .delete("/:cluster", admin, async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const cluster = await resolveCluster(db, caller.tenantId, c.req.param("cluster"));
    const left = await db
      .select({ name: hosts.name })
      .from(hosts)
      .where(eq(hosts.clusterId, cluster.id))
      .orderBy(asc(hosts.name))
      .limit(4);
    if (left.length > 0) {
      const [{ n } = { n: 0 }] = await db
        .select({ n: count() })
        .from(hosts)
        .where(eq(hosts.clusterId, cluster.id));
      const names = left.slice(0, 3).map((h) => `${h.name}.${cluster.name}`);
      throw ApiError.conflict(
        `cluster '${cluster.name}' still has ${n} host(s) (${names.join(", ")}${n > 3 ? ", …" : ""}); remove each first with 'outpost hosts rm ${names[0]}'`,
      );
    }
    // One atomic batch; not relying on ON DELETE CASCADE, which needs PRAGMA foreign_keys per connection.
    await db.batch([
      db.delete(enrollmentTokens).where(eq(enrollmentTokens.clusterId, cluster.id)),
      db.delete(sites).where(eq(sites.clusterId, cluster.id)),
      db.delete(clusters).where(eq(clusters.id, cluster.id)),
    ]);
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "cluster.delete",
      target: cluster.id,
      outcome: "allowed",
      details: { name: cluster.name },
    });
    return c.json({ cluster });
  })
  .get("/:cluster/sites", async (c) => {
    const cluster = await resolveCluster(c.var.db, c.var.caller.tenantId, c.req.param("cluster"));
    const rows = await c.var.db
      .select()
      .from(sites)
      .where(eq(sites.clusterId, cluster.id))
      .orderBy(asc(sites.name));
    return c.json({ sites: rows.map((s) => ({ ...s, cluster: cluster.name })) });
  })
  .post("/:cluster/sites", admin, valid("json", z.object({ name })), async (c) => {
    const { name } = c.req.valid("json");
    const caller = c.var.caller;
    const cluster = await resolveCluster(c.var.db, caller.tenantId, c.req.param("cluster"));
    const row = { id: newId("site"), tenantId: caller.tenantId, clusterId: cluster.id, name };
    try {
      await c.var.db.insert(sites).values(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw ApiError.conflict(`site '${cluster.name}/${name}' already exists`);
      throw err;
    }
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "site.create",
      target: row.id,
      outcome: "allowed",
      details: { name: `${cluster.name}/${name}` },
    });
    return c.json({ site: { ...row, cluster: cluster.name } }, 201);
  })
  .get("/:cluster/sites/:site", async (c) => {
    const { cluster, site } = await resolveSite(
      c.var.db,
      c.var.caller.tenantId,
      c.req.param("cluster"),
      c.req.param("site"),
    );
    return c.json({ site: { ...site, cluster: cluster.name } });
  })
  .delete("/:cluster/sites/:site", admin, async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const { cluster, site } = await resolveSite(
      db,
      caller.tenantId,
      c.req.param("cluster"),
      c.req.param("site"),
    );
    const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(hosts).where(eq(hosts.siteId, site.id));
    if (n > 0)
      throw ApiError.conflict(
        `site '${cluster.name}/${site.name}' still has ${n} host(s); delete them first`,
      );
    await db.batch([
      db.delete(enrollmentTokens).where(eq(enrollmentTokens.siteId, site.id)),
      db.delete(sites).where(and(eq(sites.id, site.id), eq(sites.tenantId, caller.tenantId))),
    ]);
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "site.delete",
      target: site.id,
      outcome: "allowed",
      details: { name: `${cluster.name}/${site.name}` },
    });
    return c.json({ site: { ...site, cluster: cluster.name } });
  });

/** All sites of the tenant, across clusters (`outpost site ls` without a cluster). */
export const siteRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const rows = await c.var.db
    .select({ site: sites, cluster: clusters.name })
    .from(sites)
    .innerJoin(clusters, eq(sites.clusterId, clusters.id))
    .where(eq(sites.tenantId, c.var.caller.tenantId))
    .orderBy(asc(clusters.name), asc(sites.name));
  return c.json({ sites: rows.map((r) => ({ ...r.site, cluster: r.cluster })) });
});
