// Mesh routes: `outpost mesh add web01.prod --listen 127.0.0.1:15432 --to db01.prod:postgres` makes the
// agent on web01 listen on its loopback and carry each connection to db01's postgres service through
// the relay. Both ends are in the same cluster: other clusters' and tenants' services are unreachable.
import { and, asc, eq, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { meshRoutes } from "../../schema/db/tables.ts";
import { isId, newId } from "../../schema/ids.ts";
import { isServiceName } from "../../schema/names.ts";
import { MAX_CONFIG_ENTRIES } from "../../schema/protocol/index.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { insertCapped, isUniqueViolation } from "../db/database.ts";
import { nameIds } from "../db/names.ts";
import { resolveCluster, resolveHost } from "../db/resolve.ts";
import type { StoredReport } from "../durable/host/agent-reports.ts";
import { hostObject, syncCluster } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { ref } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

/** Agents listen for mesh routes on their loopback only. */
const LOOPBACK_LISTEN = /^(?:127\.(?:\d{1,3}\.){2}\d{1,3}|\[::1\]):([1-9]\d{0,4})$/;

const addRoute = z.object({
  from: z.string().max(200),
  listen: z
    .string()
    .regex(LOOPBACK_LISTEN, {
      error: "must be a loopback address and port, e.g. 127.0.0.1:15432 or [::1]:15432",
    })
    .refine((l) => Number(l.slice(l.lastIndexOf(":") + 1)) <= 65535, { error: "port must be 1-65535" }),
  to: z
    .string()
    .max(264)
    .regex(/^[^:]+:[a-z0-9][a-z0-9._-]{0,62}$/, { error: "must be <host>.<cluster>:<service>" }),
});

/** The most from-hosts whose reports one listing asks for; routes of further hosts say "unknown". */
const MAX_STATE_HOSTS = 100;

/**
 * "listening", "failed: <the agent's error>", "pending" (the agent's last report predates the route),
 * or "unknown" (no report: offline since before capability 5, or an older agent).
 */
function _routeState(route: string, stored: StoredReport | null | undefined): string {
  if (!stored) return "unknown";
  const listener = stored.report.listeners.find((l) => l.route === route);
  if (!listener) return "pending";
  return listener.state === "listening" ? "listening" : `failed: ${listener.error ?? "not listening"}`;
}

export const meshRoutesApi = new Hono<AppEnv>()
  .get("/", valid("query", z.object({ cluster: ref.optional() })), async (c) => {
    const tenantId = c.var.caller.tenantId;
    const { cluster } = c.req.valid("query");
    const where: SQL[] = [eq(meshRoutes.tenantId, tenantId)];
    if (cluster) where.push(eq(meshRoutes.clusterId, (await resolveCluster(c.var.db, tenantId, cluster)).id));
    const rows = await c.var.db
      .select()
      .from(meshRoutes)
      .where(and(...where))
      .orderBy(asc(meshRoutes.createdAt));
    const names = await nameIds(c.var.db, tenantId, [
      ...rows.map((r) => r.fromHostId),
      ...rows.map((r) => r.toHostId),
    ]);
    // `from` and `to` as <host>.<cluster> (null once a host is gone), beside the ids.
    // Each route's state as its from-host's agent last reported it (capability 5).
    const fromHosts = [...new Set(rows.map((r) => r.fromHostId))].slice(0, MAX_STATE_HOSTS);
    const reports = new Map(
      await Promise.all(fromHosts.map(async (id) => [id, await hostObject(c.env, id).report()] as const)),
    );
    return c.json({
      routes: rows.map((r) => ({
        ...r,
        from: names.get(r.fromHostId) ?? null,
        to: names.get(r.toHostId) ?? null,
        state: _routeState(r.id, reports.get(r.fromHostId)),
      })),
    });
  })
  .post("/", requireRole("operator"), valid("json", addRoute), async (c) => {
    const caller = c.var.caller;
    const body = c.req.valid("json");
    const colon = body.to.lastIndexOf(":");
    const service = body.to.slice(colon + 1);
    if (!isServiceName(service)) throw ApiError.badRequest("to: the service must be a service name");
    const from = await resolveHost(c.var.db, caller.tenantId, body.from);
    const to = await resolveHost(c.var.db, caller.tenantId, body.to.slice(0, colon));
    if (from.clusterId !== to.clusterId) {
      throw ApiError.badRequest(
        "to: mesh routes stay within one cluster; the two hosts are in different clusters",
      );
    }
    if (from.id === to.id) throw ApiError.badRequest("to: a route from a host to itself needs no mesh");
    const row = {
      id: newId("meshRoute"),
      tenantId: caller.tenantId,
      clusterId: from.clusterId,
      fromHostId: from.id,
      listen: body.listen,
      toHostId: to.id,
      toService: service,
      createdBy: caller.actor,
    };
    let added: boolean;
    try {
      const scope = eq(meshRoutes.fromHostId, from.id);
      added = await insertCapped(c.var.db, meshRoutes, row, scope, MAX_CONFIG_ENTRIES);
    } catch (err) {
      if (isUniqueViolation(err))
        throw ApiError.conflict(`'${from.name}' already has a route listening on ${body.listen}`);
      throw err;
    }
    if (!added) {
      // The agent learns the routes it listens for in one config frame, which carries at most this many.
      throw ApiError.conflict(
        `'${from.name}' already has ${MAX_CONFIG_ENTRIES} routes starting on it, the most its agent can be told; remove one first`,
      );
    }
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "mesh.add",
      target: row.id,
      outcome: "allowed",
      details: body,
    });
    await syncCluster(c.env, from.clusterId);
    return c.json({ route: row }, 201);
  })
  .delete("/:id", requireRole("operator"), async (c) => {
    const caller = c.var.caller;
    const id = c.req.param("id");
    // A param that is no mesh route id names no row: 404 like an unknown id, without a query.
    const [row] = isId("meshRoute", id)
      ? await c.var.db
          .delete(meshRoutes)
          .where(and(eq(meshRoutes.tenantId, caller.tenantId), eq(meshRoutes.id, id)))
          .returning()
      : [];
    if (!row) throw ApiError.notFound(`mesh route '${id}'`);
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "mesh.remove",
      target: row.id,
      outcome: "allowed",
    });
    await syncCluster(c.env, row.clusterId);
    return c.json({ route: row });
  });
