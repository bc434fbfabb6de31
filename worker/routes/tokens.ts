// One-time enrollment tokens for a site. The secret is returned once, with the install line; only
// its hash is kept. Redemption (single use, even under a race) lives in the enrollment route.
import { desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { clusters, enrollmentTokens, sites } from "../../schema/db/tables.ts";
import { newId, newSecret } from "../../schema/ids.ts";
import { revokeOnce } from "../auth/revoke.ts";
import { requireRole } from "../auth/roles.ts";
import { sha256Hex } from "../auth/secrets.ts";
import { audit } from "../db/audit.ts";
import { nameIds } from "../db/names.ts";
import { resolveSite } from "../db/resolve.ts";
import type { AppEnv } from "../env.ts";
import { duration, labels, ref } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

const DEFAULT_TOKEN_TTL_MS = 15 * 60_000;
const MAX_TOKEN_TTL_MS = 24 * 3_600_000;

const createToken = z.object({
  cluster: ref,
  site: ref,
  ttl: duration(60_000, MAX_TOKEN_TTL_MS, "between 1m and 24h").optional(),
  labels: labels.optional(),
});

function publicToken(row: typeof enrollmentTokens.$inferSelect, cluster: string, site: string) {
  const { hash: _hash, ...rest } = row;
  const now = Date.now();
  const state = row.revokedAt
    ? "revoked"
    : row.usedAt
      ? "used"
      : row.expiresAt.getTime() <= now
        ? "expired"
        : "active";
  return { ...rest, cluster, site, state };
}

export const tokenRoutes = new Hono<AppEnv>()
  .use(requireRole("admin"))
  .get("/", async (c) => {
    const rows = await c.var.db
      .select({ token: enrollmentTokens, cluster: clusters.name, site: sites.name })
      .from(enrollmentTokens)
      .innerJoin(sites, eq(enrollmentTokens.siteId, sites.id))
      .innerJoin(clusters, eq(enrollmentTokens.clusterId, clusters.id))
      .where(eq(enrollmentTokens.tenantId, c.var.caller.tenantId))
      .orderBy(desc(enrollmentTokens.createdAt));
    const names = await nameIds(
      c.var.db,
      c.var.caller.tenantId,
      rows.map((r) => r.token.usedBy),
    );
    return c.json({
      tokens: rows.map((r) => ({
        ...publicToken(r.token, r.cluster, r.site),
        /** The host it enrolled, as <host>.<cluster> (null when unused or since deleted). */
        usedByName: (r.token.usedBy && names.get(r.token.usedBy)) ?? null,
      })),
    });
  })
  .post("/", valid("json", createToken), async (c) => {
    const body = c.req.valid("json");
    const caller = c.var.caller;
    const { cluster, site } = await resolveSite(c.var.db, caller.tenantId, body.cluster, body.site);
    const { secret, prefix } = newSecret("enrollment");
    const [row] = await c.var.db
      .insert(enrollmentTokens)
      .values({
        id: newId("token"),
        tenantId: caller.tenantId,
        clusterId: cluster.id,
        siteId: site.id,
        prefix,
        hash: await sha256Hex(secret),
        labels: body.labels ?? {},
        createdBy: caller.actor,
        expiresAt: new Date(Date.now() + (body.ttl ?? DEFAULT_TOKEN_TTL_MS)),
      })
      .returning();
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "token.create",
      target: row!.id,
      outcome: "allowed",
      details: { site: `${cluster.name}/${site.name}`, expiresAt: row!.expiresAt.toISOString() },
    });
    const origin = c.env.PUBLIC_URL ?? new URL(c.req.url).origin;
    const install = `curl -fsSL ${origin}/install.sh | sh -s -- --token ${secret} --name <host-name>`;
    return c.json({ token: secret, install, enrollment: publicToken(row!, cluster.name, site.name) }, 201);
  })
  .delete("/:id", async (c) => {
    const caller = c.var.caller;
    const id = c.req.param("id");
    await revokeOnce(c.var.db, enrollmentTokens, caller, id, {
      noun: "enrollment token",
      action: "token.revoke",
    });
    return c.json({ id, revoked: true });
  });
