// Services on a host, added through the API: `outpost service add web01.prod ssh 127.0.0.1:22`. The
// control plane only records and relays them; the agent decides what they may point at (its loopback
// and the networks its own config opens) and refuses the rest when a stream asks for them.
import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { services } from "../../schema/db/tables.ts";
import { newId } from "../../schema/ids.ts";
import { SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from "../../schema/names.ts";
import { MAX_CONFIG_ENTRIES, MAX_TARGET_TEXT } from "../../schema/protocol/index.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { insertCapped, isUniqueViolation } from "../db/database.ts";
import { resolveHost } from "../db/resolve.ts";
import type { StoredReport } from "../durable/host/agent-reports.ts";
import { hostObject, syncCluster } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";

/** address:port as the agent parses it: dotted-quad, [IPv6] or a DNS name, then a port. */
const TARGET =
  /^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+|[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?):([1-9][0-9]{0,4})$/;

const addService = z.object({
  name: z.string().regex(SERVICE_NAME_PATTERN, { error: `must be ${SERVICE_NAME_RULE}` }),
  target: z
    .string()
    .max(MAX_TARGET_TEXT) // the longest an agent is told in its config (frames.ts)
    .regex(TARGET, { error: "must be <address>:<port>, e.g. 127.0.0.1:22 or [::1]:5432" })
    .refine((t) => Number(t.slice(t.lastIndexOf(":") + 1)) <= 65535, { error: "port must be 1-65535" }),
});

/** How long `service add` waits for the online agent's report on the new service. */
const REPORT_WAIT_MS = 2000;

/** The agent's report as the API serves it: its word (capability 5), with an ISO time; null if none. */
function _agentView(stored: StoredReport | null) {
  if (!stored) return null;
  return { ...stored.report, receivedAt: new Date(stored.receivedAt).toISOString() };
}

export const serviceRoutes = new Hono<AppEnv>()
  .get("/:host/services", async (c) => {
    const host = await resolveHost(c.var.db, c.var.caller.tenantId, c.req.param("host"));
    const [rows, stored] = await Promise.all([
      c.var.db.select().from(services).where(eq(services.hostId, host.id)).orderBy(asc(services.name)),
      hostObject(c.env, host.id).report(),
    ]);
    // `agent`: what the agent last said it uses (its own services too), or null before any report.
    return c.json({ services: rows, hostStatus: host.status, agent: _agentView(stored) });
  })
  .post("/:host/services", requireRole("operator"), valid("json", addService), async (c) => {
    const caller = c.var.caller;
    const body = c.req.valid("json");
    const host = await resolveHost(c.var.db, caller.tenantId, c.req.param("host"));
    const relay = hostObject(c.env, host.id);
    const before = host.status === "online" ? ((await relay.report())?.n ?? 0) : undefined;
    const row = {
      id: newId("service"),
      tenantId: caller.tenantId,
      hostId: host.id,
      createdBy: caller.actor,
      ...body,
    };
    let added: boolean;
    try {
      added = await insertCapped(c.var.db, services, row, eq(services.hostId, host.id), MAX_CONFIG_ENTRIES);
    } catch (err) {
      if (isUniqueViolation(err))
        throw ApiError.conflict(`host '${host.name}' already has a service '${body.name}'`);
      throw err;
    }
    if (!added) {
      // The agent learns its services in one config frame, which carries at most this many.
      throw ApiError.conflict(
        `host '${host.name}' already has ${MAX_CONFIG_ENTRIES} services, the most its agent can be told; remove one first`,
      );
    }
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "service.add",
      target: host.id,
      outcome: "allowed",
      details: body,
    });
    await syncCluster(c.env, host.clusterId);
    // The online agent's word on it, from its report after this config (briefly awaited): whether it
    // will use it and let it reach its target. null when offline, too old to report, or too slow.
    let agent = null;
    if (before !== undefined) {
      const after = await relay.report({ after: before, waitMs: REPORT_WAIT_MS });
      if (after && after.n > before) {
        agent = after.report.services.find((s) => s.name === body.name && s.source === "cp") ?? null;
      }
    }
    return c.json({ service: row, agent }, 201);
  })
  .delete("/:host/services/:name", requireRole("operator"), async (c) => {
    const caller = c.var.caller;
    const host = await resolveHost(c.var.db, caller.tenantId, c.req.param("host"));
    const [row] = await c.var.db
      .delete(services)
      .where(and(eq(services.hostId, host.id), eq(services.name, c.req.param("name"))))
      .returning();
    if (!row) throw ApiError.notFound(`service '${c.req.param("name")}' on '${host.name}'`);
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "service.remove",
      target: host.id,
      outcome: "allowed",
      details: { name: row.name },
    });
    await syncCluster(c.env, host.clusterId);
    return c.json({ service: row });
  });
