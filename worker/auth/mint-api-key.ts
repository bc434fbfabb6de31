import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { apiKeys, type Role } from "../../schema/db/tables.ts";
import { newId, newSecret, type TenantId } from "../../schema/ids.ts";
import { sha256Hex } from "./secrets.ts";

/** Creates an API key; the secret is returned once and only its hash is stored. */
export async function mintApiKey(
  db: LibSQLDatabase,
  opts: { tenantId: TenantId; name: string; role: Role; createdBy: string; expiresAt?: Date | null },
) {
  const { secret, prefix } = newSecret("apiKey");
  const id = newId("apiKey");
  const [row] = await db
    .insert(apiKeys)
    .values({
      id,
      tenantId: opts.tenantId,
      name: opts.name,
      prefix,
      hash: await sha256Hex(secret),
      role: opts.role,
      createdBy: opts.createdBy,
      expiresAt: opts.expiresAt ?? null,
    })
    .returning();
  return { key: publicKey(row!), token: secret };
}

/** What the API shows of a key: everything but its hash. */
export function publicKey(row: typeof apiKeys.$inferSelect) {
  const { hash: _hash, ...rest } = row;
  return rest;
}
