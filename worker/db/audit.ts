// Audit events: every mutating call and every denied call writes one. Written inline (not with
// waitUntil) so that a call that answered has its record.
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { auditEvents } from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";

export interface AuditEntry {
  tenantId: TenantId | null;
  actor: string;
  action: string;
  target?: string | null;
  outcome: "allowed" | "denied";
  details?: Record<string, unknown>;
}

export async function audit(db: LibSQLDatabase, entry: AuditEntry): Promise<void> {
  await auditInsert(db, entry);
}

/** The insert statement itself, to run alone or inside a batch with the change it records. */
export function auditInsert(db: LibSQLDatabase, entry: AuditEntry) {
  return db.insert(auditEvents).values({
    tenantId: entry.tenantId,
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null,
    outcome: entry.outcome,
    at: new Date(),
    details: entry.details ?? {},
  });
}
