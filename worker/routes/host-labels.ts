// A host's labels: POST /v1/hosts/:host/labels {set?, remove?} (admin). Labels place a host (`role=web`,
// `zone=a`) for selectors (schema/selectors.ts), which choose the hosts of fan-out execs and jobs, so
// changing them is an admin's act like placing the host at enrollment. The change is one conditional
// update on the labels read (compare-and-set), so two concurrent edits never lose one another's keys.
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { hosts } from "../../schema/db/tables.ts";
import { LABEL_KEY_PATTERN } from "../../schema/names.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { resolveHost } from "../db/resolve.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { labels } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

const labelEdit = z
  .object({
    set: labels.optional(),
    remove: z
      .array(
        z.string().regex(LABEL_KEY_PATTERN, { error: "label keys are lowercase names up to 63 characters" }),
      )
      .max(32)
      .optional(),
  })
  .strict()
  .refine((b) => Object.keys(b.set ?? {}).length + (b.remove?.length ?? 0) > 0, {
    error: "give labels to set or keys to remove",
  })
  .refine((b) => !(b.remove ?? []).some((k) => Object.hasOwn(b.set ?? {}, k)), {
    error: "a key may not be both set and removed",
  });

/** Most labels one host may carry (the enrollment limit, http/fields.ts `labels`). */
const MAX_LABELS = 32;

export const hostLabelRoutes = new Hono<AppEnv>().post(
  "/:host/labels",
  requireRole("admin"),
  valid("json", labelEdit),
  async (c) => {
    const caller = c.var.caller;
    const edit = c.req.valid("json");
    const db = c.var.db;
    for (let attempt = 0; attempt < 3; attempt++) {
      const host = await resolveHost(db, caller.tenantId, c.req.param("host"));
      // The stored text itself, compared as text: the condition of the update below.
      const [stored] = await db
        .select({ text: sql<string>`${hosts.labels}` })
        .from(hosts)
        .where(eq(hosts.id, host.id));
      if (!stored) throw ApiError.notFound(`host '${c.req.param("host")}'`);
      const current = JSON.parse(stored.text) as Record<string, string>;
      const next: Record<string, string> = { ...current, ...edit.set };
      for (const k of edit.remove ?? []) delete next[k];
      if (Object.keys(next).length > MAX_LABELS) {
        throw ApiError.badRequest(`labels: a host carries at most ${MAX_LABELS} labels; remove some first`);
      }
      const [row] = await db
        .update(hosts)
        .set({ labels: next })
        .where(and(eq(hosts.id, host.id), sql`${hosts.labels} = ${stored.text}`))
        .returning({ labels: hosts.labels });
      if (!row) continue; // changed since we read it: read again
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "host.label",
        target: host.id,
        outcome: "allowed",
        details: { name: host.name, set: edit.set ?? {}, remove: edit.remove ?? [] },
      });
      return c.json({ host: { id: host.id, name: host.name, labels: row.labels } });
    }
    throw ApiError.conflict("the host's labels kept changing under this edit; try again");
  },
);
