// VM images (`outpost vm image push|ls|rm`): a tenant's name for an artifact that holds a kernel, maybe
// an initrd and a rootfs, and the kernel command line to boot them with. The bytes go through the
// artifact upload first (routes/artifacts.ts); this only names them, so the artifact must be one the
// tenant uploaded: a sha256 of another tenant's is "not found" like any other unknown digest.
//
//   GET    /v1/vm-images            {items}
//   PUT    /v1/vm-images/:name      {sha256, cmdline}  201 new, 200 re-pointed (operator)
//   GET    /v1/vm-images/:name      {image}
//   DELETE /v1/vm-images/:name      removes the name; the artifact stays (operator)
import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { artifacts, vmImages } from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";
import { SHA256_HEX } from "../../schema/protocol/artifact-fetch.ts";
import { findControlCharacter } from "../../schema/protocol/control-characters.ts";
import { requireRole } from "../auth/roles.ts";
import { auditInsert } from "../db/audit.ts";
import { actorIds, actorView, nameIds } from "../db/names.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { name } from "../http/fields.ts";
import { valid } from "../http/validate.ts";

/** Linux takes a command line of up to 2048 bytes on x86 (COMMAND_LINE_SIZE); more is refused here. */
const MAX_CMDLINE = 2048;

const pushImage = z.strictObject({
  sha256: z.string().regex(SHA256_HEX, { error: "must be 64 lowercase hex characters (a SHA-256)" }),
  cmdline: z
    .string()
    .max(MAX_CMDLINE, { error: `must be at most ${MAX_CMDLINE} characters` })
    .refine((s) => findControlCharacter(s) === undefined, { error: "must not hold control characters" })
    .default(""),
});

const nameParam = z.object({ name });

type Db = AppEnv["Variables"]["db"];

/** The API's view of image rows: ISO 8601 times, who pushed it by name (`by.name`: the key's name). */
async function _images(db: Db, tenantId: TenantId, rows: Array<typeof vmImages.$inferSelect>) {
  const names = await nameIds(
    db,
    tenantId,
    rows.flatMap((r) => actorIds(r.createdBy)),
  );
  return rows.map((row) => ({
    name: row.name,
    sha256: row.sha256,
    cmdline: row.cmdline,
    by: actorView(row.createdBy, names),
    createdAt: row.createdAt.toISOString(),
  }));
}

export const vmImageRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const rows = await c.var.db
      .select()
      .from(vmImages)
      .where(eq(vmImages.tenantId, c.var.caller.tenantId))
      .orderBy(asc(vmImages.name));
    return c.json({ items: await _images(c.var.db, c.var.caller.tenantId, rows) });
  })
  .get("/:name", valid("param", nameParam), async (c) => {
    const { name } = c.req.valid("param");
    const [row] = await c.var.db
      .select()
      .from(vmImages)
      .where(and(eq(vmImages.tenantId, c.var.caller.tenantId), eq(vmImages.name, name)));
    if (!row) throw ApiError.notFound(`VM image '${name}'`);
    const [image] = await _images(c.var.db, c.var.caller.tenantId, [row]);
    return c.json({ image: image! });
  })
  .put("/:name", requireRole("operator"), valid("param", nameParam), valid("json", pushImage), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const [artifact] = await db
      .select({ sha256: artifacts.sha256 })
      .from(artifacts)
      .where(and(eq(artifacts.tenantId, caller.tenantId), eq(artifacts.sha256, body.sha256)));
    if (!artifact) throw ApiError.notFound(`artifact '${body.sha256}' (push its bytes first)`);
    const [before] = await db
      .select({ sha256: vmImages.sha256 })
      .from(vmImages)
      .where(and(eq(vmImages.tenantId, caller.tenantId), eq(vmImages.name, name)));
    const row = {
      sha256: body.sha256,
      cmdline: body.cmdline,
      createdBy: caller.actor,
      createdAt: new Date(),
    };
    const [written] = await db.batch([
      db
        .insert(vmImages)
        .values({ tenantId: caller.tenantId, name, ...row })
        .onConflictDoUpdate({ target: [vmImages.tenantId, vmImages.name], set: row })
        .returning(),
      auditInsert(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "vm.image.push",
        target: name,
        outcome: "allowed",
        details: { sha256: body.sha256, ...(before ? { replaced: before.sha256 } : {}) },
      }),
    ]);
    const image = written[0];
    if (!image) throw new Error("vm image upsert returned no row");
    const [view] = await _images(db, caller.tenantId, [image]);
    return c.json({ image: view!, replaced: before?.sha256 ?? null }, before ? 200 : 201);
  })
  .delete("/:name", requireRole("operator"), valid("param", nameParam), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const { name } = c.req.valid("param");
    const [row] = await db
      .select({ sha256: vmImages.sha256 })
      .from(vmImages)
      .where(and(eq(vmImages.tenantId, caller.tenantId), eq(vmImages.name, name)));
    if (!row) throw ApiError.notFound(`VM image '${name}'`);
    await db.batch([
      db.delete(vmImages).where(and(eq(vmImages.tenantId, caller.tenantId), eq(vmImages.name, name))),
      auditInsert(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "vm.image.remove",
        target: name,
        outcome: "allowed",
        details: { sha256: row.sha256 },
      }),
    ]);
    return c.json({ removed: { name, sha256: row.sha256 } });
  });
