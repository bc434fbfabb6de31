// Env secrets of an app (`outpost env set|ls|rm`). The client encrypts every value and seals its data key
// to each recipient (schema/secrets/); this API stores and relays only that ciphertext and those sealed
// keys. It checks shapes and sizes strictly, that every recipient is one of the caller's tenant's hosts
// or keepers, and that each new version is exactly one more than the stored one (the version is inside
// the associated data, so the client must know it before it encrypts; a concurrent set is a 409, not a
// lost update). Viewers list names, versions and recipients; operators set, seal and remove.
import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { Hono } from "hono";
import { z } from "zod";
import { apiKeys, appEnv, envSeals, hosts, secretKeepers } from "../../schema/db/tables.ts";
import type { ApiKeyId } from "../../schema/ids.ts";
import { NAME_PATTERN, NAME_RULE } from "../../schema/names.ts";
import { fromBase64Url } from "../../schema/protocol/base64.ts";
import { isHostId } from "../../schema/protocol/keys.ts";
import {
  checkEnvName,
  isKeeperPublicKey,
  MAX_ENV_RECIPIENTS,
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARS,
  MAX_ENV_VERSION,
  type RecipientId,
  SEALED_KEY_BYTES,
  TAG_BYTES,
  VALUE_NONCE_BYTES,
} from "../../schema/secrets/index.ts";
import { requireRole } from "../auth/roles.ts";
import { audit, auditInsert } from "../db/audit.ts";
import { type Database, isUniqueViolation } from "../db/database.ts";
import type { AppEnv, Caller } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";

function _b64(min: number, max: number) {
  const chars = (n: number) => Math.ceil((n * 4) / 3);
  return z
    .string()
    .min(chars(min))
    .max(chars(max))
    .refine(
      (t) => {
        try {
          const n = fromBase64Url(t).length;
          return n >= min && n <= max;
        } catch {
          return false;
        }
      },
      {
        error:
          min === max ? `must be ${min} bytes of base64url` : `must be ${min}..${max} bytes of base64url`,
      },
    );
}

const envName = z.string().refine(
  (n) => {
    try {
      checkEnvName(n);
      return true;
    } catch {
      return false;
    }
  },
  { error: "must be an env name: a letter or _ then letters, digits or _, at most 128 characters, not PORT" },
);
const recipient = z
  .string()
  .max(64)
  .refine((r) => isHostId(r) || isKeeperPublicKey(r), { error: 'must be "host_…" or "keeperkey:…"' });
const version = z.number().int().min(1).max(MAX_ENV_VERSION);
const seal = z.strictObject({ recipient, sealedKey: _b64(SEALED_KEY_BYTES, SEALED_KEY_BYTES) });

const putEnv = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        name: envName,
        version,
        ciphertext: _b64(TAG_BYTES, MAX_ENV_VALUE_BYTES + TAG_BYTES),
        nonce: _b64(VALUE_NONCE_BYTES, VALUE_NONCE_BYTES),
        seals: z.array(seal).min(1).max(MAX_ENV_RECIPIENTS),
      }),
    )
    .min(1)
    .max(MAX_ENV_VARS),
});

const addSeals = z.strictObject({
  seals: z
    .array(
      z.strictObject({
        name: envName,
        version,
        recipient,
        sealedKey: _b64(SEALED_KEY_BYTES, SEALED_KEY_BYTES),
      }),
    )
    .min(1)
    .max(MAX_ENV_VARS),
});

const appParam = z.strictObject({
  app: z.string().regex(NAME_PATTERN, { error: `app must be ${NAME_RULE}` }),
});

// ## Helpers

/** Every recipient must be a host or a keeper of the caller's tenant; another tenant's is "not found". */
async function _checkRecipients(
  c: { var: { db: AppEnv["Variables"]["db"]; caller: Caller } },
  ids: Set<string>,
) {
  const hostIds = [...ids].filter(isHostId);
  const keeperKeys = [...ids].filter(isKeeperPublicKey);
  const known = new Set<string>();
  if (hostIds.length > 0) {
    const rows = await c.var.db
      .select({ id: hosts.id })
      .from(hosts)
      .where(and(eq(hosts.tenantId, c.var.caller.tenantId), inArray(hosts.id, hostIds)));
    for (const r of rows) known.add(r.id);
  }
  if (keeperKeys.length > 0) {
    const rows = await c.var.db
      .select({ key: secretKeepers.publicKey })
      .from(secretKeepers)
      .where(
        and(eq(secretKeepers.tenantId, c.var.caller.tenantId), inArray(secretKeepers.publicKey, keeperKeys)),
      );
    for (const r of rows) known.add(r.key);
  }
  for (const id of ids) if (!known.has(id)) throw ApiError.notFound(`recipient '${id}'`);
}

async function _refuse(
  c: { var: { db: AppEnv["Variables"]["db"]; caller: Caller } },
  action: string,
  app: string,
  message: string,
) {
  await audit(c.var.db, {
    tenantId: c.var.caller.tenantId,
    actor: c.var.caller.actor,
    action,
    target: app,
    outcome: "denied",
    details: { reason: message },
  });
  return ApiError.conflict(message);
}

// ## Routes

export const envRoutes = new Hono<AppEnv>()
  .get("/:app/env", valid("param", appParam), async (c) => {
    const { app } = c.req.valid("param");
    const tenantId = c.var.caller.tenantId;
    const entries = await c.var.db
      .select({
        id: appEnv.id,
        name: appEnv.name,
        version: appEnv.version,
        createdBy: appEnv.createdBy,
        createdAt: appEnv.createdAt,
      })
      .from(appEnv)
      .where(and(eq(appEnv.tenantId, tenantId), eq(appEnv.app, app)))
      .orderBy(asc(appEnv.name));
    const seals = entries.length
      ? await c.var.db
          .select({
            entryId: envSeals.entryId,
            recipient: envSeals.recipient,
            host: hosts.name,
            keeper: secretKeepers.name,
          })
          .from(envSeals)
          .leftJoin(hosts, and(eq(hosts.id, envSeals.recipient), eq(hosts.tenantId, tenantId)))
          .leftJoin(
            secretKeepers,
            and(eq(secretKeepers.publicKey, envSeals.recipient), eq(secretKeepers.tenantId, tenantId)),
          )
          .where(
            and(
              eq(envSeals.tenantId, tenantId),
              inArray(
                envSeals.entryId,
                entries.map((e) => e.id),
              ),
            ),
          )
          .orderBy(asc(envSeals.recipient))
      : [];
    // Who set each value, by key name (`createdBy` is `key:<id>`), within the caller's tenant only.
    const keyIds = [...new Set(entries.map((e) => e.createdBy.replace(/^key:/, "")))];
    const keyNames = keyIds.length
      ? await c.var.db
          .select({ id: apiKeys.id, name: apiKeys.name })
          .from(apiKeys)
          .where(and(eq(apiKeys.tenantId, tenantId), inArray(apiKeys.id, keyIds as ApiKeyId[])))
      : [];
    const nameOf = new Map(keyNames.map((k) => [`key:${k.id}`, k.name]));
    const items = entries.map(({ id, ...e }) => ({
      ...e,
      setBy: nameOf.get(e.createdBy) ?? null,
      recipients: seals
        .filter((s) => s.entryId === id)
        .map((s) => ({
          kind: isHostId(s.recipient) ? ("host" as const) : ("keeper" as const),
          id: s.recipient,
          name: s.host ?? s.keeper ?? null,
        })),
    }));
    return c.json({ tenantId, items });
  })
  // The ciphertext and the key sealed to one recipient, for a keeper to re-seal (operators only: a viewer
  // sees names, never even ciphertext).
  .get(
    "/:app/env/sealed",
    requireRole("operator"),
    valid("param", appParam),
    valid("query", z.strictObject({ recipient })),
    async (c) => {
      const { app } = c.req.valid("param");
      const who = c.req.valid("query").recipient as RecipientId;
      const tenantId = c.var.caller.tenantId;
      const rows = await c.var.db
        .select({
          name: appEnv.name,
          version: appEnv.version,
          ciphertext: appEnv.ciphertext,
          nonce: appEnv.nonce,
          sealedKey: envSeals.sealedKey,
        })
        .from(appEnv)
        .leftJoin(envSeals, and(eq(envSeals.entryId, appEnv.id), eq(envSeals.recipient, who)))
        .where(and(eq(appEnv.tenantId, tenantId), eq(appEnv.app, app)))
        .orderBy(asc(appEnv.name));
      return c.json({ tenantId, items: rows });
    },
  )
  .put("/:app/env", requireRole("operator"), valid("param", appParam), valid("json", putEnv), async (c) => {
    const { app } = c.req.valid("param");
    const { entries } = c.req.valid("json");
    const caller = c.var.caller;
    const db = c.var.db;
    const names = new Set(entries.map((e) => e.name));
    if (names.size !== entries.length) throw ApiError.badRequest("entries: a name appears twice");
    for (const e of entries) {
      if (new Set(e.seals.map((s) => s.recipient)).size !== e.seals.length)
        throw ApiError.badRequest(`entries: ${e.name} is sealed to one recipient twice`);
    }
    await _checkRecipients(c, new Set(entries.flatMap((e) => e.seals.map((s) => s.recipient))));
    const current = await db
      .select({ name: appEnv.name, version: appEnv.version })
      .from(appEnv)
      .where(and(eq(appEnv.tenantId, caller.tenantId), eq(appEnv.app, app)));
    const stored = new Map(current.map((r) => [r.name, r.version]));
    for (const e of entries) {
      const expected = (stored.get(e.name) ?? 0) + 1;
      if (e.version !== expected)
        throw await _refuse(
          c,
          "env.set",
          app,
          `env ${e.name} of ${app} is at version ${expected - 1}; set version ${expected} (run the command again)`,
        );
    }
    const total = new Set([...stored.keys(), ...names]).size;
    if (total > MAX_ENV_VARS)
      throw await _refuse(
        c,
        "env.set",
        app,
        `${app} would have ${total} env vars, more than ${MAX_ENV_VARS}`,
      );

    // One transaction: the old version and its seals go, the new one and its seals come, or nothing
    // changes. A concurrent set of the same version makes the insert hit the unique index and fail whole.
    const statements: BatchItem<"sqlite">[] = [];
    for (const e of entries) {
      const old = and(
        eq(appEnv.tenantId, caller.tenantId),
        eq(appEnv.app, app),
        eq(appEnv.name, e.name),
        eq(appEnv.version, e.version - 1),
      );
      const oldIds = db.select({ id: appEnv.id }).from(appEnv).where(old);
      statements.push(db.delete(envSeals).where(inArray(envSeals.entryId, oldIds)));
      statements.push(db.delete(appEnv).where(old));
      statements.push(
        db.insert(appEnv).values({
          tenantId: caller.tenantId,
          app,
          name: e.name,
          version: e.version,
          ciphertext: e.ciphertext,
          nonce: e.nonce,
          createdBy: caller.actor,
        }),
      );
      const entryOf = and(
        eq(appEnv.tenantId, caller.tenantId),
        eq(appEnv.app, app),
        eq(appEnv.name, e.name),
        eq(appEnv.version, e.version),
      );
      for (const s of e.seals) statements.push(_insertSeal(db, caller, entryOf, s.recipient, s.sealedKey));
    }
    statements.push(
      auditInsert(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "env.set",
        target: app,
        outcome: "allowed",
        details: {
          vars: entries.map((e) => ({ name: e.name, version: e.version, recipients: e.seals.length })),
        },
      }),
    );
    try {
      await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    } catch (err) {
      if (isUniqueViolation(err))
        throw await _refuse(
          c,
          "env.set",
          app,
          `env of ${app} changed while this was set; run the command again`,
        );
      throw err;
    }
    return c.json({
      items: entries.map((e) => ({ name: e.name, version: e.version, recipients: e.seals.length })),
    });
  })
  // More recipients for values already set (a keeper re-sealing for a new host): the data key sealed
  // again, the ciphertext untouched. A seal for a version that is no longer current is refused.
  .post(
    "/:app/env/seals",
    requireRole("operator"),
    valid("param", appParam),
    valid("json", addSeals),
    async (c) => {
      const { app } = c.req.valid("param");
      const { seals } = c.req.valid("json");
      const caller = c.var.caller;
      const db = c.var.db;
      await _checkRecipients(c, new Set(seals.map((s) => s.recipient)));
      const current = await db
        .select({ name: appEnv.name, version: appEnv.version })
        .from(appEnv)
        .where(
          and(
            eq(appEnv.tenantId, caller.tenantId),
            eq(appEnv.app, app),
            inArray(
              appEnv.name,
              seals.map((s) => s.name),
            ),
          ),
        );
      const stored = new Map(current.map((r) => [r.name, r.version]));
      for (const s of seals) {
        const at = stored.get(s.name);
        if (at === undefined) throw ApiError.notFound(`env ${s.name} of ${app}`);
        if (at !== s.version)
          throw await _refuse(
            c,
            "env.seal",
            app,
            `env ${s.name} of ${app} is at version ${at}, not ${s.version}; run the command again`,
          );
      }
      const statements: BatchItem<"sqlite">[] = seals.map((s) =>
        _insertSeal(
          db,
          caller,
          and(
            eq(appEnv.tenantId, caller.tenantId),
            eq(appEnv.app, app),
            eq(appEnv.name, s.name),
            eq(appEnv.version, s.version),
          ),
          s.recipient,
          s.sealedKey,
        ),
      );
      statements.push(
        auditInsert(db, {
          tenantId: caller.tenantId,
          actor: caller.actor,
          action: "env.seal",
          target: app,
          outcome: "allowed",
          details: {
            seals: seals.map((s) => ({ name: s.name, version: s.version, recipient: s.recipient })),
          },
        }),
      );
      await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
      return c.json({
        items: seals.map((s) => ({ name: s.name, version: s.version, recipient: s.recipient })),
      });
    },
  )
  .delete(
    "/:app/env/:name",
    requireRole("operator"),
    valid("param", appParam.extend({ name: envName })),
    async (c) => {
      const { app, name } = c.req.valid("param");
      const caller = c.var.caller;
      const db = c.var.db;
      const where = and(eq(appEnv.tenantId, caller.tenantId), eq(appEnv.app, app), eq(appEnv.name, name));
      const [row] = await db
        .select({ id: appEnv.id, version: appEnv.version })
        .from(appEnv)
        .where(where)
        .limit(1);
      if (!row) throw ApiError.notFound(`env ${name} of ${app}`);
      await db.batch([
        db.delete(envSeals).where(eq(envSeals.entryId, row.id)),
        db.delete(appEnv).where(eq(appEnv.id, row.id)),
        auditInsert(db, {
          tenantId: caller.tenantId,
          actor: caller.actor,
          action: "env.remove",
          target: app,
          outcome: "allowed",
          details: { name, version: row.version },
        }),
      ]);
      return c.json({ removed: { name, version: row.version } });
    },
  );

/** insert into env_seals … select from the entry row, so the seal lands on exactly that version. */
function _insertSeal(db: Database, caller: Caller, entry: SQL | undefined, who: string, sealedKey: string) {
  return db.run(
    sql`insert into ${envSeals} (tenant_id, entry_id, recipient, sealed_key, created_by)
        select ${caller.tenantId}, ${appEnv.id}, ${who}, ${sealedKey}, ${caller.actor} from ${appEnv} where ${entry}
        on conflict (entry_id, recipient) do update set sealed_key = excluded.sealed_key, created_by = excluded.created_by`,
  );
}
