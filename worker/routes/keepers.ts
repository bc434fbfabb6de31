// A tenant's secret keepers (`outpost keeper init|ls|rm`): X25519 public keys whose owners can open every
// env value of the tenant, so they can re-seal one for a host that is not yet a recipient. Every CLI
// that sets env seals to each of them. Adding or removing one is an admin's call: a keeper reads every
// secret set after it joins. Removing one also drops every data key sealed to it.
import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { envSeals, secretKeepers } from "../../schema/db/tables.ts";
import { NAME_PATTERN, NAME_RULE } from "../../schema/names.ts";
import { isKeeperPublicKey } from "../../schema/secrets/index.ts";
import { requireRole } from "../auth/roles.ts";
import { auditInsert } from "../db/audit.ts";
import { isUniqueViolation } from "../db/database.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";

/** Most keepers one tenant registers: every env value is sealed to each of them. */
const MAX_KEEPERS = 32;

const addKeeper = z.strictObject({
  name: z.string().regex(NAME_PATTERN, { error: `must be ${NAME_RULE}` }),
  publicKey: z
    .string()
    .max(64)
    .refine(isKeeperPublicKey, { error: 'must be "keeperkey:" followed by 32 bytes of base64url' }),
});

function present(row: typeof secretKeepers.$inferSelect) {
  return { name: row.name, publicKey: row.publicKey, createdBy: row.createdBy, createdAt: row.createdAt };
}

export const keeperRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const rows = await c.var.db
      .select()
      .from(secretKeepers)
      .where(eq(secretKeepers.tenantId, c.var.caller.tenantId))
      .orderBy(asc(secretKeepers.name));
    return c.json({ items: rows.map(present) });
  })
  .post("/", requireRole("admin"), valid("json", addKeeper), async (c) => {
    const caller = c.var.caller;
    const body = c.req.valid("json");
    const db = c.var.db;
    const existing = await db.$count(secretKeepers, eq(secretKeepers.tenantId, caller.tenantId));
    if (existing >= MAX_KEEPERS)
      throw ApiError.conflict(`this tenant has ${MAX_KEEPERS} keepers already; remove one first`);
    const row = {
      tenantId: caller.tenantId,
      name: body.name,
      publicKey: body.publicKey,
      createdBy: caller.actor,
    };
    let inserted: typeof secretKeepers.$inferSelect | undefined;
    try {
      const [added] = await db.batch([
        db.insert(secretKeepers).values(row).returning(),
        auditInsert(db, {
          tenantId: caller.tenantId,
          actor: caller.actor,
          action: "keeper.add",
          target: body.name,
          outcome: "allowed",
          details: { publicKey: body.publicKey },
        }),
      ]);
      inserted = added[0];
    } catch (err) {
      if (isUniqueViolation(err))
        throw ApiError.conflict(`a keeper named '${body.name}' or with this key exists already`);
      throw err;
    }
    if (!inserted) throw new Error("keeper insert returned no row");
    return c.json({ keeper: present(inserted) }, 201);
  })
  .delete("/:name", requireRole("admin"), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const name = c.req.param("name");
    const [row] = await db
      .select()
      .from(secretKeepers)
      .where(and(eq(secretKeepers.tenantId, caller.tenantId), eq(secretKeepers.name, name)))
      .limit(1);
    if (!row) throw ApiError.notFound(`keeper '${name}'`);
    await db.batch([
      db
        .delete(envSeals)
        .where(and(eq(envSeals.tenantId, caller.tenantId), eq(envSeals.recipient, row.publicKey))),
      db.delete(secretKeepers).where(eq(secretKeepers.id, row.id)),
      auditInsert(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "keeper.remove",
        target: name,
        outcome: "allowed",
        details: { publicKey: row.publicKey },
      }),
    ]);
    return c.json({ keeper: present(row) });
  });
