// GET /v1/apps/:app/logs?host=&lines=&follow=&since= — an app's captured output, streamed from the
// agent of the host it runs on (a WebSocket: the `logs` stream kind, durable/host/kinds/logs.ts).
// Operators only, as exec's output is: an app's output is the host's to tell (apps print tokens,
// customer data, stack traces with secrets in them), and a viewer reads state, not what runs.
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { apps, clusters, hosts, instances } from "../../schema/db/tables.ts";
import { parseDuration } from "../../schema/names.ts";
import { MAX_STREAM_CREDIT, MIN_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { requireRole } from "../auth/roles.ts";
import { resolveHost } from "../db/resolve.ts";
import { openOnHost } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";

/** Lines of the past a stream starts with when the caller names none (tail's default). */
const DEFAULT_LINES = 10;

const logsQuery = z.object({
  host: z.string().min(1).max(200).optional(),
  lines: z.coerce.number().int().min(0).max(100_000).optional(),
  follow: z.enum(["true", "false", "1", "0"]).optional(),
  /** Output written at or after: an ISO 8601 time, or a duration back from now (10m, 2h, 7d). */
  since: z
    .string()
    .max(64)
    .transform((text, ctx) => {
      const ago = parseDuration(text);
      const at = ago !== null ? Date.now() - ago : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
      if (Number.isNaN(at) || at < 0) {
        ctx.addIssue({
          code: "custom",
          message: "must be an ISO 8601 time or a duration like 10m, 2h or 7d",
        });
        return z.NEVER;
      }
      return at;
    })
    .optional(),
  credit: z.coerce.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
});

export const appLogRoutes = new Hono<AppEnv>().get(
  "/:app/logs",
  requireRole("operator"),
  valid("query", logsQuery),
  async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const name = c.req.param("app");
    const q = c.req.valid("query");
    const [app] = await db
      .select({ id: apps.id, name: apps.name })
      .from(apps)
      .where(and(eq(apps.tenantId, caller.tenantId), eq(apps.name, name)));
    if (!app) throw ApiError.notFound(`app '${name}'`);
    const on = await db
      .select({ id: hosts.id, name: hosts.name, cluster: clusters.name, revokedAt: hosts.revokedAt })
      .from(instances)
      .innerJoin(hosts, eq(hosts.id, instances.hostId))
      .innerJoin(clusters, eq(clusters.id, hosts.clusterId))
      .where(and(eq(instances.appId, app.id), eq(instances.tenantId, caller.tenantId)))
      .orderBy(hosts.name);
    let host: (typeof on)[number] | undefined;
    if (q.host) {
      const named = await resolveHost(db, caller.tenantId, q.host);
      host = on.find((h) => h.id === named.id);
      if (!host) throw ApiError.notFound(`app '${app.name}' on '${q.host}'`);
    } else if (on.length === 1) {
      host = on[0];
    } else if (on.length === 0) {
      throw new ApiError(404, "not_found", `app '${app.name}' is not deployed on any host`);
    } else {
      const names = on.map((h) => `${h.name}.${h.cluster}`).join(", ");
      throw ApiError.badRequest(
        `app '${app.name}' runs on ${on.length} hosts (${names}): name one with host`,
      );
    }
    if (!host) throw ApiError.notFound(`app '${app.name}'`);
    if (host.revokedAt) throw ApiError.conflict(`host '${host.name}' is revoked`);
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
    }
    return openOnHost(c.env, host.id, {
      kind: "logs",
      app: app.name,
      lines: q.lines ?? DEFAULT_LINES,
      follow: q.follow === "true" || q.follow === "1",
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.credit ? { credit: q.credit } : {}),
      tenantId: caller.tenantId,
      actor: caller.actor,
      hostName: `${host.name}.${host.cluster}`,
    });
  },
);
