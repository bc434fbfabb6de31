// Fan-out exec: GET /v1/clusters/:cluster/exec?spec=…&selector=…&site=…&maxParallel=N (WebSocket
// upgrade, operator role). The Worker checks everything and chooses the hosts (the tenant's, in the
// cluster, matching the selector, not revoked), writes the one audit event, and hands the plan to the
// cluster's ClusterDO, which runs it (durable/cluster/fanout.ts; protocol: fanout-events.ts). A
// selector matching no host answers 404 `no_hosts` before any upgrade.
import { and, asc, eq, isNull, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { hosts, sites } from "../../schema/db/tables.ts";
import { DEFAULT_FANOUT_PARALLEL, MAX_FANOUT_PARALLEL } from "../../schema/protocol/fanout-events.ts";
import { formatSelector, MAX_SELECTOR_LENGTH, matchesSelector } from "../../schema/selectors.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { resolveCluster } from "../db/resolve.ts";
import { clusterObject } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { execSpecParam } from "../http/exec-spec-param.ts";
import { name } from "../http/fields.ts";
import { selectorParam } from "../http/selector.ts";
import { valid } from "../http/validate.ts";

const fanoutQuery = z.object({
  spec: z.string().max(512 * 1024),
  selector: z.string().max(MAX_SELECTOR_LENGTH).optional(),
  site: name.optional(),
  maxParallel: z.coerce.number().int().min(1).max(MAX_FANOUT_PARALLEL).optional(),
});

export const fanoutRoutes = new Hono<AppEnv>().get(
  "/:cluster/exec",
  requireRole("operator"),
  valid("query", fanoutQuery),
  async (c) => {
    const q = c.req.valid("query");
    const caller = c.var.caller;
    const spec = execSpecParam(q.spec);
    if (spec.record)
      throw ApiError.badRequest(
        "spec.record: a fan-out is not recorded; record one host's exec (outpost exec --record <host>.<cluster>)",
      );
    const selector = selectorParam(q.selector);
    const cluster = await resolveCluster(c.var.db, caller.tenantId, c.req.param("cluster"));
    const where: SQL[] = [
      eq(hosts.tenantId, caller.tenantId),
      eq(hosts.clusterId, cluster.id),
      isNull(hosts.revokedAt),
    ];
    if (q.site) where.push(eq(sites.name, q.site));
    const rows = await c.var.db
      .select({ id: hosts.id, name: hosts.name, labels: hosts.labels, status: hosts.status })
      .from(hosts)
      .innerJoin(sites, eq(hosts.siteId, sites.id))
      .where(and(...where))
      .orderBy(asc(hosts.name));
    const chosen = rows.filter((r) => matchesSelector(selector, r.labels));
    const shown = formatSelector(selector);
    const scope = `cluster '${cluster.name}'${q.site ? ` site '${q.site}'` : ""}`;
    if (chosen.length === 0) {
      throw new ApiError(
        404,
        "no_hosts",
        `no host in ${scope} matches ${shown ? `'${shown}'` : "(every host)"}`,
      );
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
    }
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "cluster.exec",
      target: cluster.id,
      outcome: "allowed",
      details: {
        cluster: cluster.name,
        selector: shown,
        ...(q.site ? { site: q.site } : {}),
        argv: spec.argv,
        hosts: chosen.length,
      },
    });
    const stub = clusterObject(c.env, cluster.id);
    const { id } = await stub.prepareFanout({
      tenantId: caller.tenantId,
      actor: caller.actor,
      spec,
      maxParallel: q.maxParallel ?? DEFAULT_FANOUT_PARALLEL,
      hosts: chosen.map((h) => ({
        id: h.id,
        fqdn: `${h.name}.${cluster.name}`,
        online: h.status === "online",
      })),
    });
    // Built from scratch: no header of the caller's reaches the object.
    return stub.fetch(
      new Request(`https://cluster.internal/fanout/${id}`, { headers: { upgrade: "websocket" } }),
    );
  },
);
