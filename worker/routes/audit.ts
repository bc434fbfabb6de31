// The tenant's audit log, newest first, paginated by id cursor.
import { and, desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { auditEvents } from "../../schema/db/tables.ts";
import { actorIds, actorView, nameIds, targetName } from "../db/names.ts";
import type { AppEnv } from "../env.ts";
import { pageQuery } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

export const auditRoutes = new Hono<AppEnv>().get("/", valid("query", pageQuery), async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const where = [eq(auditEvents.tenantId, c.var.caller.tenantId)];
  if (cursor) where.push(lt(auditEvents.id, cursor));
  const rows = await c.var.db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const ids = page.flatMap((e) => [
    ...actorIds(e.actor),
    ...(e.target ? [e.target, ...actorIds(e.target)] : []),
  ]);
  const names = await nameIds(c.var.db, c.var.caller.tenantId, ids);
  return c.json({
    events: page.map((e) => ({
      ...e,
      by: actorView(e.actor, names),
      targetName: targetName(e.target, names, e.details),
    })),
    nextCursor: rows.length > limit ? page[page.length - 1]!.id : null,
  });
});
