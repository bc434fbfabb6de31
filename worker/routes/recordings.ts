// Session recordings (worker/recordings/):
//   GET /v1/sessions/:id/recording   the asciicast v2 of a pty session or a recorded exec (operator role)
//   GET /v1/settings/recording       whether the tenant records its pty sessions
//   PUT /v1/settings/recording       {enabled}: turn it on or off (admin role)
// A session of another tenant is a 404, as an unknown one is.
import { and, eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { sessions, tenants } from "../../schema/db/tables.ts";
import { isId } from "../../schema/ids.ts";
import { requireRole } from "../auth/roles.ts";
import { auditInsert } from "../db/audit.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";
import { concatParts, partsPrefix, recordingKey } from "../recordings/index.ts";

/** The asciicast of the caller's session `id` (also the dashboard's playback, worker/dashboard/). */
export async function serveRecording(c: Context<AppEnv>, id: string): Promise<Response> {
  const tenantId = c.var.caller.tenantId;
  if (!isId("session", id)) throw ApiError.notFound(`session '${id.slice(0, 64)}'`);
  const [row] = await c.var.db
    .select({ id: sessions.id, kind: sessions.kind })
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, tenantId)));
  if (!row) throw ApiError.notFound(`session '${id}'`);
  const headers = { "content-type": "application/x-asciicast", "cache-control": "no-store" };
  const done = await c.env.ARTIFACTS.get(recordingKey(tenantId, row.id));
  if (done) return new Response(done.body, { headers });
  // Still running, or its object went before it finished: the parts written so far.
  const parts = await concatParts(c.env.ARTIFACTS, partsPrefix(tenantId, row.id));
  if (!parts)
    throw ApiError.notFound(
      `a recording of session '${id}' (an exec run without --record, or recording was off)`,
    );
  return new Response(parts.stream, { headers });
}

export const recordingRoutes = new Hono<AppEnv>().get("/:id/recording", requireRole("operator"), (c) =>
  serveRecording(c, c.req.param("id")),
);

export const settingsRoutes = new Hono<AppEnv>()
  .get("/recording", async (c) => {
    const [row] = await c.var.db
      .select({ recording: tenants.recording })
      .from(tenants)
      .where(eq(tenants.id, c.var.caller.tenantId));
    return c.json({ recording: row?.recording ?? true });
  })
  .put("/recording", requireRole("admin"), valid("json", z.object({ enabled: z.boolean() })), async (c) => {
    const { enabled } = c.req.valid("json");
    const caller = c.var.caller;
    await c.var.db.batch([
      c.var.db.update(tenants).set({ recording: enabled }).where(eq(tenants.id, caller.tenantId)),
      auditInsert(c.var.db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "tenant.recording",
        target: caller.tenantId,
        outcome: "allowed",
        details: { enabled },
      }),
    ]);
    return c.json({ recording: enabled });
  });
