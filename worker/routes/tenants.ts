// Platform admin: tenants and their first admin key.
import { Hono } from "hono";
import { z } from "zod";
import { tenants } from "../../schema/db/tables.ts";
import { newId } from "../../schema/ids.ts";
import { mintApiKey } from "../auth/mint-api-key.ts";
import { platformAdminAuth } from "../auth/platform-admin.ts";
import { audit } from "../db/audit.ts";
import { isUniqueViolation } from "../db/database.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { name } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

export const tenantRoutes = new Hono<AppEnv>()
  .use(platformAdminAuth)
  .get("/", async (c) => {
    const rows = await c.var.db.select().from(tenants).orderBy(tenants.name);
    return c.json({ tenants: rows });
  })
  .post("/", valid("json", z.object({ name })), async (c) => {
    const { name } = c.req.valid("json");
    const db = c.var.db;
    const id = newId("tenant");
    try {
      await db.insert(tenants).values({ id, name });
    } catch (err) {
      if (isUniqueViolation(err)) throw ApiError.conflict(`tenant '${name}' already exists`);
      throw err;
    }
    const { key, token } = await mintApiKey(db, {
      tenantId: id,
      name: "admin",
      role: "admin",
      createdBy: "platform",
    });
    await audit(db, {
      tenantId: id,
      actor: "platform",
      action: "tenant.create",
      target: id,
      outcome: "allowed",
    });
    return c.json({ tenant: { id, name }, key, token }, 201);
  });
