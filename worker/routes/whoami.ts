// GET /v1/whoami: who the presented API key is (its tenant, name, role and expiry), for `outpost
// whoami`. Any role may ask; it says nothing the key's holder does not already hold.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { apiKeys, tenants } from "../../schema/db/tables.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";

export const whoamiRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const caller = c.var.caller;
  const [row] = await c.var.db
    .select({
      tenant: { id: tenants.id, name: tenants.name },
      key: {
        id: apiKeys.id,
        name: apiKeys.name,
        role: apiKeys.role,
        createdAt: apiKeys.createdAt,
        expiresAt: apiKeys.expiresAt,
      },
    })
    .from(apiKeys)
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .where(eq(apiKeys.id, caller.keyId))
    .limit(1);
  // The key was checked a moment ago; gone since means it was deleted in between.
  if (!row) throw ApiError.unauthorized("this API key no longer exists");
  return c.json(row);
});
