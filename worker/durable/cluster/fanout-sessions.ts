// A fan-out's database writes, made by the ClusterDO for all its hosts at once: the fan-out's own audit
// event, every per-host session row and its `host.exec` event go in one batch (one libSQL round trip,
// however many hosts) written beside the runs, which stop if it fails; the ends go in batches as the
// hosts finish, each batch taking every end that arrived while the one before was in flight. Each HostDO was told the session
// was the fan-out's (stream-request.ts `fanout`) and writes neither, so 1,000 hosts cost a handful of
// round trips here, not 2,000 spread over 1,000 objects.
import { and, eq } from "drizzle-orm";
import { auditEvents, sessions } from "../../../schema/db/tables.ts";
import { newId, type SessionId, type TenantId } from "../../../schema/ids.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import type { Database } from "../../db/database.ts";

/** Rows per insert statement: well under SQLite's bound-parameter limit (32,766). */
const ROWS_PER_STATEMENT = 200;

export interface FanoutAudit {
  /** The cluster's id, the event's target. */
  target: string;
  /** JSON values only (the plan crosses RPC and the request header). */
  details: Record<string, string | number | string[]>;
}

export interface SessionEndRow {
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
  bytesOut: number;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

export class FanoutSessions {
  readonly #db: Database;
  readonly #tenantId: TenantId;
  readonly #actor: string;
  /** Each online host's session id, chosen before the batch that writes them. */
  readonly #ids = new Map<string, SessionId>();
  readonly #ended = new Set<string>();
  #pending: Array<{ id: SessionId; end: SessionEndRow; at: Date }> = [];
  #scheduled = false;
  #writes: Promise<void> = Promise.resolve();

  constructor(db: Database, tenantId: TenantId, actor: string, hostIds: string[]) {
    this.#db = db;
    this.#tenantId = tenantId;
    this.#actor = actor;
    for (const id of hostIds) this.#ids.set(id, newId("session"));
  }

  /** The session id of host `hostId` (one of the online hosts it was made with). */
  of(hostId: string): SessionId | undefined {
    return this.#ids.get(hostId);
  }

  /** The fan-out's audit event, each host's session row and `host.exec` event: one batch. Throws. */
  async start(audit: FanoutAudit, argv: string[]): Promise<void> {
    const db = this.#db;
    const at = new Date();
    const rows = [...this.#ids].map(([hostId, id]) => ({ hostId: hostId as HostId, id }));
    const statements = [
      db.insert(auditEvents).values({
        tenantId: this.#tenantId,
        actor: this.#actor,
        action: "cluster.exec",
        target: audit.target,
        outcome: "allowed",
        at,
        details: audit.details,
      }),
      ...chunks(rows).map((part) =>
        db.insert(sessions).values(
          part.map((r) => ({
            id: r.id,
            tenantId: this.#tenantId,
            hostId: r.hostId,
            actor: this.#actor,
            kind: "exec" as const,
            argv,
            startedAt: at,
          })),
        ),
      ),
      ...chunks(rows).map((part) =>
        db.insert(auditEvents).values(
          part.map((r) => ({
            tenantId: this.#tenantId,
            actor: this.#actor,
            action: "host.exec",
            target: r.hostId,
            outcome: "allowed" as const,
            at,
            details: { session: r.id, argv },
          })),
        ),
      ),
    ] as const;
    this.#writes = db.batch(statements).then(() => {});
    await this.#writes;
  }

  /** Records host `hostId`'s end (once), in the next batch of ends. */
  end(hostId: string, end: SessionEndRow): void {
    const id = this.#ids.get(hostId);
    if (!id || this.#ended.has(hostId)) return;
    this.#ended.add(hostId);
    this.#pending.push({ id, end, at: new Date() });
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#writes = this.#writes.then(() => this.#flush());
  }

  /** Ends every session not ended yet with `reason`, then waits for every write; never throws. */
  async finish(reason: string): Promise<void> {
    for (const hostId of this.#ids.keys())
      this.end(hostId, { exitCode: null, signal: null, reason, bytesOut: 0 });
    await this.#writes.catch(() => {});
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const db = this.#db;
    const [first, ...rest] = batch.map(({ id, end, at }) =>
      db
        .update(sessions)
        .set({
          endedAt: at,
          exitCode: end.exitCode,
          signal: end.signal,
          endReason: end.reason,
          bytesIn: 0,
          bytesOut: end.bytesOut,
        })
        .where(and(eq(sessions.id, id), eq(sessions.tenantId, this.#tenantId))),
    );
    try {
      await db.batch([first!, ...rest]);
    } catch (err) {
      console.error("ClusterDO could not record fan-out session ends", batch.length, err);
    }
  }
}
