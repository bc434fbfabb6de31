// API keys of the caller's tenant (admin only). The secret is shown once, at creation.
import { desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { apiKeys } from "../../schema/db/tables.ts";
import { findControlCharacter } from "../../schema/protocol/index.ts";
import { mintApiKey, publicKey } from "../auth/mint-api-key.ts";
import { revokeOnce } from "../auth/revoke.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { endStreamsOf } from "../durable/end-streams.ts";
import type { AppEnv } from "../env.ts";
import { duration, role } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

const MAX_KEY_TTL = 366 * 86_400_000;

const createKey = z.object({
  role,
  name: z
    .string()
    .min(1)
    .max(64, { error: "must be at most 64 characters" })
    // Key names are listed to people (`outpost keys ls`): no terminal escapes (control-characters.ts).
    .refine((s) => findControlCharacter(s) === undefined, { error: "must not contain control characters" })
    .default("key"),
  ttl: duration(60_000, MAX_KEY_TTL, "between 1m and 366d").optional(),
});

export const keyRoutes = new Hono<AppEnv>()
  .use(requireRole("admin"))
  .get("/", async (c) => {
    const rows = await c.var.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.tenantId, c.var.caller.tenantId))
      .orderBy(desc(apiKeys.createdAt));
    return c.json({ keys: rows.map(publicKey) });
  })
  .post("/", valid("json", createKey), async (c) => {
    const body = c.req.valid("json");
    const caller = c.var.caller;
    const { key, token } = await mintApiKey(c.var.db, {
      tenantId: caller.tenantId,
      name: body.name,
      role: body.role,
      createdBy: caller.actor,
      expiresAt: body.ttl ? new Date(Date.now() + body.ttl) : null,
    });
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "key.create",
      target: key.id,
      outcome: "allowed",
      details: { role: key.role },
    });
    return c.json({ key, token }, 201);
  })
  .delete("/:id", async (c) => {
    const caller = c.var.caller;
    const id = c.req.param("id");
    const row = await revokeOnce(c.var.db, apiKeys, caller, id, { noun: "API key", action: "key.revoke" });
    await endStreamsOf(c.env, c.var.db, caller.tenantId, `key:${row.id}`, `API key ${row.id} was revoked`);
    return c.json({ key: publicKey(row) });
  });
