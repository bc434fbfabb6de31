// Revoking a tenant's credential (API key, enrollment token): once, audited; a second revoke is 409 and
// another tenant's id is 404 like any unknown one.
import { and, eq, isNull } from "drizzle-orm";
import { apiKeys, type enrollmentTokens } from "../../schema/db/tables.ts";
import { isId } from "../../schema/ids.ts";
import { audit } from "../db/audit.ts";
import type { Database } from "../db/database.ts";
import type { Caller } from "../env.ts";
import { ApiError } from "../http/api-error.ts";

type Revocable = typeof apiKeys | typeof enrollmentTokens;

export async function revokeOnce<T extends Revocable>(
  db: Database,
  table: T,
  caller: Caller,
  id: string,
  what: { noun: string; action: string },
): Promise<T["$inferSelect"]> {
  // A route param that is no id of ours names no row: 404 like an unknown id, without a query.
  if (!isId(table === apiKeys ? "apiKey" : "token", id)) throw ApiError.notFound(`${what.noun} '${id}'`);
  const mine = and(eq(table.tenantId, caller.tenantId), eq(table.id, id));
  const [row] = await db
    .update(table as typeof apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(mine, isNull(table.revokedAt)))
    .returning();
  if (!row) {
    const [exists] = await db
      .select({ id: table.id })
      .from(table as typeof apiKeys)
      .where(mine);
    if (!exists) throw ApiError.notFound(`${what.noun} '${id}'`);
    throw ApiError.conflict(`${what.noun} '${id}' is already revoked`);
  }
  await audit(db, {
    tenantId: caller.tenantId,
    actor: caller.actor,
    action: what.action,
    target: id,
    outcome: "allowed",
  });
  return row as T["$inferSelect"];
}
