// Fan-out exec: GET /v1/clusters/:cluster/exec?spec=…&selector=…&site=…&maxParallel=N (WebSocket
// upgrade, operator role). The Worker checks everything and chooses the hosts (the tenant's, in the
// cluster, matching the selector, not revoked) and hands the plan to the cluster's ClusterDO, which
// writes the one audit event with every host's session in one batch and runs it
// (durable/cluster/fanout.ts; protocol: fanout-events.ts). A selector matching no host answers 404
// `no_hosts` before any upgrade.
import { and, asc, eq, isNull, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { clusters, hosts, sites } from "../../schema/db/tables.ts";
import { isId } from "../../schema/ids.ts";
import { DEFAULT_FANOUT_PARALLEL, MAX_FANOUT_PARALLEL } from "../../schema/protocol/fanout-events.ts";
import { formatSelector, MAX_SELECTOR_LENGTH, matchesSelector } from "../../schema/selectors.ts";
import { requireRole } from "../auth/roles.ts";
import type { FanoutPlan } from "../durable/cluster/fanout.ts";
import { inlineFanoutRequest, storedFanoutRequest } from "../durable/cluster/fanout-request.ts";
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
    // The cluster and its hosts in one round trip: the hosts are found by the cluster's id or name
    // within the caller's tenant, so they can be nobody else's.
    const ref = c.req.param("cluster");
    const byRef = isId("cluster", ref) ? eq(clusters.id, ref) : eq(clusters.name, ref);
    const where: SQL[] = [eq(hosts.tenantId, caller.tenantId), isNull(hosts.revokedAt)];
    if (q.site) where.push(eq(sites.name, q.site));
    const [found, rows] = await c.var.db.batch([
      c.var.db
        .select()
        .from(clusters)
        .where(and(eq(clusters.tenantId, caller.tenantId), byRef))
        .limit(1),
      c.var.db
        .select({ id: hosts.id, name: hosts.name, labels: hosts.labels, status: hosts.status })
        .from(hosts)
        .innerJoin(sites, eq(hosts.siteId, sites.id))
        .innerJoin(
          clusters,
          and(eq(hosts.clusterId, clusters.id), eq(clusters.tenantId, caller.tenantId), byRef),
        )
        .where(and(...where))
        .orderBy(asc(hosts.name)),
    ]);
    const cluster = found[0];
    if (!cluster) throw ApiError.notFound(`cluster '${ref}'`);
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
    const plan: FanoutPlan = {
      tenantId: caller.tenantId,
      actor: caller.actor,
      spec,
      maxParallel: q.maxParallel ?? DEFAULT_FANOUT_PARALLEL,
      hosts: chosen.map((h) => ({
        id: h.id,
        fqdn: `${h.name}.${cluster.name}`,
        online: h.status === "online",
      })),
      // Written by the ClusterDO with the sessions, in one batch, before anything runs.
      audit: {
        target: cluster.id,
        details: {
          cluster: cluster.name,
          selector: shown,
          ...(q.site ? { site: q.site } : {}),
          argv: spec.argv,
          hosts: chosen.length,
        },
      },
    };
    const stub = clusterObject(c.env, cluster.id);
    // Built from scratch (fanout-request.ts): no header of the caller's reaches the object.
    const inline = inlineFanoutRequest(plan);
    if (inline) return stub.fetch(inline);
    const { id } = await stub.prepareFanout(plan);
    return stub.fetch(storedFanoutRequest(id));
  },
);
